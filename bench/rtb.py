"""Real-time bidding, in-process (the real app on moto, as bench/dynamodb_calls.py runs it):

1. instant routing of a call with 10 RTB profiles whose bidders (HTTP servers on the loopback) each answer in
   50 ms: the route's time, and the exchange's own work over the slowest answer (the route's time less the
   slowest ping's);
2. an inbound ping's own work (POST /rtb/pings, static profiles, no bidder): a new caller each time (a
   reservation: the price held), and a repeat ping for a live one (the cached bid).

    .venv/bin/python bench/rtb.py
"""
from __future__ import annotations

import os
import statistics
import time
from datetime import datetime, timezone

from counting import product

BIDDERS, ANSWER_SECONDS, ROUTES, PINGS = 10, 0.05, 30, 200


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def line(label: str, values: list[float]) -> str:
    return (f"  {label:58s} p50 {percentile(values, 50):6.1f} ms  p99 {percentile(values, 99):6.1f} ms  "
            f"mean {statistics.mean(values):6.1f} ms  (n={len(values)})")


def main() -> None:
    os.environ.update({"ALLOW_LOOPBACK_CALLBACKS": "true", "POWERTOOLS_METRICS_DISABLED": "true",
                       "MAX_OPEN_REPORTED_CALLS": "1000", "RATE_LIMIT_PER_MINUTE": "1000000",
                       "RTB_PINGS_PER_MINUTE": "1000000"})
    from tests.receiver import Receiver

    def bid(received):
        time.sleep(ANSWER_SECONDS)  # the bidder's own think time
        return 200, b'{"bid_amount": "4.00"}'

    receivers = [Receiver(answer=bid) for _ in range(BIDDERS)]
    try:
        with product() as (client, api, _):
            buyer = api.register("buyer")
            for n, receiver in enumerate(receivers):
                seller = api.register("seller")
                api.fund(seller, "1000.00")
                made = api.post("/bid-profiles", {"destination_number": f"+1312555{n:04d}",
                                                  "rtb": {"url": receiver.url("/bid"), "timeout_ms": 1000}},
                                token=seller["token"])
                assert made.status == 201, made.body
            static = api.register("seller")
            api.fund(static, "1000.00")
            api.post("/bid-profiles", {"bid_amount": "3.00", "destination_number": "+13125559999"},
                     token=static["token"])
            body = {"from_number": "+14155552671", "to_number": "+14155550100", "direction": "inbound"}
            totals, own = [], []
            for _ in range(ROUTES + 3):
                call = api.post("/calls", body, token=buyer["token"]).data
                started = time.perf_counter()
                routed = api.post(f"/calls/{call['id']}/route", token=buyer["token"])
                elapsed = (time.perf_counter() - started) * 1000
                assert routed.status == 200 and routed.data["price"] == "4.00", routed.body
                slowest = max(e["ping"]["elapsed_ms"] for e in routed.data["routing_log"] if e["outcome"] == "pinged")
                totals.append(elapsed)
                own.append(elapsed - slowest)
            totals, own = totals[3:], own[3:]  # the first ones open the connections
            print(f"Instant routing with {BIDDERS} RTB bidders each answering in {ANSWER_SECONDS * 1000:.0f} ms "
                  "(+ 1 static profile), in-process on moto:")
            print(line("the route (request to answer)", totals))
            print(line("the exchange's own work (the route less the slowest ping)", own))

            pings(api)
    finally:
        for receiver in receivers:
            receiver.close()


def pings(api) -> None:
    from chalicelib.persistence.tables import BidProfileModel, RtbPoolModel
    from chalicelib.persistence.tables.rtb import POOL

    # Bidders off: a ping's own work only. The pool: one number, as an admin's purchase writes it.
    from chalicelib.persistence.tables import RouteEntryModel

    for profile in BidProfileModel.scan():
        if profile.rtb:
            profile.delete()
    for entry in RouteEntryModel.scan():  # and their route entries
        if entry.rtb:
            entry.delete()
    RtbPoolModel(pool=POOL, phone_number="+14155550999", number_id="n", owner_id="admin",
                 added_at=datetime.now(timezone.utc)).save()
    buyer = api.register("buyer")
    new, cached = [], []
    for n in range(PINGS + 5):
        caller = f"+1415555{n:04d}"
        started = time.perf_counter()
        answer = api.post("/rtb/pings", {"from_number": caller, "call_type": "sales"}, token=buyer["token"])
        new.append((time.perf_counter() - started) * 1000)
        assert answer.status == 200 and answer.data["bid_id"], answer.body
        started = time.perf_counter()
        again = api.post("/rtb/pings", {"from_number": caller, "call_type": "sales"}, token=buyer["token"])
        cached.append((time.perf_counter() - started) * 1000)
        assert again.data["bid_id"] == answer.data["bid_id"]
    print(f"An inbound ping's own work (static profiles, no bidder), in-process on moto, {PINGS} callers:")
    print(line("POST /rtb/pings, a new caller (bid and reservation)", new[5:]))
    print(line("POST /rtb/pings, the same caller again (cached bid)", cached[5:]))


if __name__ == "__main__":
    main()
