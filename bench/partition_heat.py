"""Partition heat of the exchange: a workload of calls (reported, live, auctioned with bids, settled,
disputed) and number purchases, run in-process on moto, with every DynamoDB write's partition recorded
(tests/partition_heat.py). Prints the ten hottest partition keys with their share of their table's or
index's writes, whether any key is over 1/16 plus chance, and the platform ceiling that the hottest key
implies: the calls a second at which it takes DynamoDB's 1,000 write units a second of one partition.

    .venv/bin/python bench/partition_heat.py [calls] [buyers] [sellers]
"""
from __future__ import annotations

import os
import sys
import time
from datetime import datetime, timezone

from counting import product

# One client makes every request (one address): the rate limits out of the way, as in the tests.
os.environ.update({name: "1000000" for name in ("RATE_LIMIT_PER_MINUTE", "AUTH_RATE_LIMIT_PER_MINUTE",
                                                "NUMBER_SEARCH_RATE_LIMIT_PER_MINUTE", "PURCHASE_RATE_LIMIT_PER_MINUTE")})

PARTITION_WCU = 1_000  # write units a second one DynamoDB partition takes
NON_CALL_LABELS = ("route_entries",)  # written when a profile changes, not per call


def ceilings(heat, calls: int) -> list[tuple[float, str, str, float]]:
    """(calls a second at which the table's or index's busiest key reaches PARTITION_WCU, label, key, writes
    per call), lowest first: the key's writes per call, scaled. (A write of an item up to 1 KB is one WCU,
    a transaction's two: the figures are ceilings at the most by that factor.)"""
    rows = []
    for label, keys in heat.writes.items():
        if label.split("/")[0] in NON_CALL_LABELS:
            continue
        key, writes = keys.most_common(1)[0]
        per_call = writes / calls
        rows.append((PARTITION_WCU / per_call, label, key, per_call))
    return sorted(rows)


def main() -> None:
    calls, buyers, sellers = (int(a) for a in (sys.argv[1:] + ["2000", "200", "200"][len(sys.argv) - 1:])[:3])
    from chalicelib import clock

    clock.set_clock(lambda: datetime(2026, 11, 2, 18, 0, tzinfo=timezone.utc))  # 13:00 in New York: calling hours
    with product() as (client, api, _emulator):
        from tests.api.test_webhooks import Twilio
        from tests.outbox import OutboxStream
        from tests.partition_heat import HeatRecorder, Workload, run_workload

        stream = OutboxStream(client)
        started = time.perf_counter()
        with HeatRecorder() as recorder:
            done = run_workload(api, client, Workload(buyers=buyers, sellers=sellers, calls=calls),
                                twilio=Twilio(api), publish=stream.publish)
        heat = recorder.heat
        print(f"workload: {dict(done)} in {time.perf_counter() - started:.0f} s")
        print(f"writes recorded: {sum(heat.total(label) for label in heat.writes):,} "
              f"over {len(heat.writes)} tables and indexes\n")
        print(heat.report(10))
        hot = heat.too_hot()
        print(f"\nkeys over 1/16 + chance: {len(hot)}")
        for label, key, n, share, bound in hot:
            print(f"  {label:<34} {key[:40]:<40} {share:.1%} > {bound:.1%}")
        print(f"\nthe ceilings the busiest keys imply (calls a second until the key takes {PARTITION_WCU:,} WCU/s):")
        for rate, label, key, per_call in ceilings(heat, calls)[:8]:
            print(f"  {rate:>9,.0f}  {label:<34} {key[:44]:<44} {per_call:.3f} writes a call")


if __name__ == "__main__":
    main()
