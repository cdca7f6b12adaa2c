"""DynamoDB calls per request of the exchange: create call, place bid, close auction, route, complete;
then the items instant routing reads at 100 and at 10,000 active bid profiles, 10 of which match.

    .venv/bin/python bench/dynamodb_calls.py
"""
from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from counting import counted, product

ITEMS: Counter = Counter()  # items DynamoDB returned, by logical table


def _count_items() -> None:
    from pynamodb.connection.base import Connection

    from chalicelib.persistence.tables import ALL_MODELS

    original = Connection._make_api_call

    def logical(table: str) -> str:
        return next((m.logical_name for m in ALL_MODELS if m.Meta.table_name == table), table)

    def counted_items(self, operation_name, operation_kwargs, *args, **kwargs):
        response = original(self, operation_name, operation_kwargs, *args, **kwargs)
        if operation_name in ("Query", "Scan"):
            ITEMS[logical(operation_kwargs["TableName"])] += response.get("Count", 0)
        elif operation_name == "GetItem" and response.get("Item"):
            ITEMS[logical(operation_kwargs["TableName"])] += 1
        elif operation_name == "BatchGetItem":
            for table, items in response.get("Responses", {}).items():
                ITEMS[logical(table)] += len(items)
        elif operation_name == "TransactGetItems":
            for asked, got in zip(operation_kwargs["TransactItems"], response.get("Responses", [])):
                ITEMS[logical(asked["Get"]["TableName"])] += bool(got.get("Item"))
        return response

    Connection._make_api_call = counted_items


# A call from San Francisco reads US#CA, US#*, *#CA and *#*: the 10 matching profiles are spread over
# them; the others target elsewhere (and bid more).
MATCHING = [((), ()), (("US",), ()), ((), ("CA",)), (("US",), ("CA", "NV")), (("US", "CA"), ("CA", "ON"))]
ELSEWHERE = [((), ("NY",)), ((), ("TX", "FL")), (("US",), ("NY",)), (("US",), ("WA", "OR", "NV")), (("GB",), ()),
             (("DE", "FR"), ()), (("CA",), ()), (("CA",), ("ON", "QC")), (("MX",), ()), (("US", "CA"), ("ON",))]


def add_profiles(count: int, geographies: list, seller_ids: list[str], bids: range, rng: random.Random) -> None:
    """Active profiles and their route entries, written directly in batches (as the service would store
    them, without its transactions)."""
    from chalicelib.persistence import route_entries
    from chalicelib.persistence.tables import BidProfileModel, RouteEntryModel

    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with BidProfileModel.batch_write() as profiles, RouteEntryModel.batch_write() as entries:
        for i in range(count):
            countries, states = geographies[i % len(geographies)]
            created = start + timedelta(seconds=rng.randrange(10_000_000))
            profile = BidProfileModel(
                str(uuid.uuid4()), seller_id=seller_ids[i % len(seller_ids)], bid_amount=rng.choice(bids),
                criteria={"geography": {"countries": list(countries), "states": list(states)}, "call_type": [],
                          "keywords": [], "max_budget": None},
                destination_number="+13125552671", active=True, created_at=created, updated_at=created, revision=1)
            profiles.save(profile)
            for entry in route_entries.entries_of(profile).values():
                entries.save(entry)


def instant_routing_at_scale(api, buyer: dict, seller: dict, call_body: dict) -> list:
    """Items read and calls made by one instant route, at 100 and at 10,000 active profiles."""
    rng = random.Random(7)
    others = [str(uuid.uuid4()) for _ in range(500)]
    rows = []
    add_profiles(10, MATCHING, [seller["user"]["id"]], range(10_000, 30_000, 100), rng)  # 1.00 - 2.99
    for active, more in ((100, 90), (10_000, 9_900)):
        add_profiles(more, ELSEWHERE, others, range(30_000, 90_000, 100), rng)  # 3.00 - 8.99
        call = api.post("/calls", call_body, token=buyer["token"]).data
        ITEMS.clear()
        with counted(f"POST /calls/{{id}}/route (instant, {active:,} active)", rows):
            result = api.post(f"/calls/{call['id']}/route", token=buyer["token"])
        assert result.status == 200, result.body
        rows[-1] += (dict(ITEMS),)
    return rows


@contextmanager
def request(label: str, rows: list):
    """The request's DynamoDB calls and the items they read."""
    ITEMS.clear()
    with counted(label, rows):
        yield
    rows[-1] += (sum(ITEMS.values()),)


def views(api, buyer: dict, seller: dict, settled_call: str, rows: list) -> None:
    """What each role reads (issue 10's views) and a dispute of the settled call."""
    admin = api.admin()
    made = api.post("/calls", {"from_number": "+14155552671", "to_number": "+12125552671", "direction": "inbound"},
                    token=buyer["token"])
    assert made.status == 201, made.body
    auction = api.post("/auctions", {"call_id": made.data["id"], "duration": 60}, token=buyer["token"])
    assert auction.status == 201, auction.body
    reads = [("GET /auctions?status=active (seller)", "/auctions?status=active", seller),
             ("GET /analytics/dashboard (buyer)", "/analytics/dashboard", buyer),
             ("GET /analytics/dashboard (seller)", "/analytics/dashboard", seller),
             ("GET /calls (admin: everyone's)", "/calls", admin),
             ("GET /calls?user_id= (admin)", f"/calls?user_id={buyer['user']['id']}", admin),
             ("GET /billing/transactions (admin: all)", "/billing/transactions", admin),
             ("GET /admin/ledger", "/admin/ledger", admin),
             ("GET /admin/users?q= (search: reads the listing)", "/admin/users?q=lovelace", admin)]
    for label, path, user in reads:
        with request(label, rows):
            assert api.get(path, token=user["token"]).status == 200
    with request("POST /admin/ledger/audit (queued; the job reads every account)", rows):
        assert api.post("/admin/ledger/audit", token=admin["token"]).status == 202
    with request("PUT /admin/users/{id} (credit_limit)", rows):
        assert api.put(f"/admin/users/{buyer['user']['id']}", {"credit_limit": "5.00"},
                       token=admin["token"]).status == 200
    with request("POST /calls/{id}/disputes", rows):
        assert api.post(f"/calls/{settled_call}/disputes", {"reason": "No such call"},
                        token=seller["token"]).status == 201
    with request("PUT /admin/disputes/{id} (accepted: reversal)", rows):
        assert api.put(f"/admin/disputes/{settled_call}", {"decision": "accepted"}, token=admin["token"]).status == 200
    with request("POST /auth/resend-verification", rows):
        assert api.post("/auth/resend-verification", {"email": buyer["email"]}).status == 202
    with request("GET /config (the console's WebSocket URL)", rows):
        assert api.get("/config").status == 200
    blocked_callers(api, admin, buyer, rows)


def blocked_callers(api, admin: dict, buyer: dict, rows: list) -> None:
    """The platform's blocked callers, and a call one of them makes (refused and recorded)."""
    with request("POST /admin/blocked-callers", rows):
        assert api.post("/admin/blocked-callers", {"phone_number": "+1646", "reason": "Known litigator"},
                        token=admin["token"]).status == 201
    with request("GET /admin/blocked-callers", rows):
        assert api.get("/admin/blocked-callers", token=admin["token"]).status == 200
    with request("POST /calls (from a blocked caller: 403)", rows):
        assert api.post("/calls", {"from_number": "+16465552671", "to_number": "+12125552671", "direction": "inbound"},
                        token=buyer["token"]).status == 403
    with request("DELETE /admin/blocked-callers/{number}", rows):
        assert api.call("DELETE", "/admin/blocked-callers/%2B1646", token=admin["token"]).status == 204


# Every term a profile can set: open now, below its caps, not blocking the caller.
ALL_TERMS = {"conversion_seconds": 60, "record_calls": True, "blocked_callers": ["+1212", "+44"],
             "schedule": {"timezone": "UTC", "windows": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                                          "start_time": "00:00", "end_time": "23:59"}]},
             "caps": {"concurrency": 1000, "hourly": 10_000, "daily": 100_000, "monthly": 1_000_000}}


def terms_set(api, buyer: dict, seller: dict, profile: dict, call_body: dict, rows: list) -> None:
    """The same instant route and settlement with every term set on the profile, and what a seller reads
    of its terms."""
    assert api.put(f"/bid-profiles/{profile['id']}", {**ALL_TERMS, "criteria": {"max_budget": "1000.00"}},
                   token=seller["token"]).status == 200
    call = api.post("/calls", call_body, token=buyer["token"]).data
    with request("POST /calls/{id}/route (instant, every term)", rows):
        routed = api.post(f"/calls/{call['id']}/route", token=buyer["token"])
    assert routed.status == 200, routed.body
    for status in ("ringing", "in_progress"):
        api.call("PATCH", f"/calls/{call['id']}/status", {"status": status}, token=buyer["token"])
    with request("POST /calls/{id}/complete (every term)", rows):
        assert api.post(f"/calls/{call['id']}/complete", {"duration": 90}, token=buyer["token"]).status == 200
    with request("GET /bid-profiles/{id} (usage)", rows):
        assert api.get(f"/bid-profiles/{profile['id']}", token=seller["token"]).status == 200
    query = "from_number=%2B14155552671&to_number=%2B12125552671"
    with request("GET /bid-profiles/{id}/eligibility", rows):
        assert api.get(f"/bid-profiles/{profile['id']}/eligibility?{query}", token=seller["token"]).status == 200


def rtb_and_webhooks(api, buyer: dict, rows: list) -> None:
    """An inbound RTB ping (a bid reserved, then the cached repeat), the admins' pool view, and a user's webhook
    endpoints."""
    from chalicelib.persistence.tables import RtbPoolModel
    from chalicelib.persistence.tables.rtb import POOL

    admin = api.admin()
    RtbPoolModel(pool=POOL, phone_number="+14155550999", number_id=str(uuid.uuid4()), owner_id=admin["user_id"],
                 added_at=datetime.now(timezone.utc)).save()  # as an admin's purchase with routing rtb_pool writes it
    ping = {"from_number": "+14155550142", "call_type": "sales"}
    with request("POST /rtb/pings (a bid: reserved)", rows):
        assert api.post("/rtb/pings", ping, token=buyer["token"]).data["bid_id"]
    with request("POST /rtb/pings (the same caller: cached)", rows):
        assert api.post("/rtb/pings", ping, token=buyer["token"]).data["bid_id"]
    with request("GET /admin/rtb/pool", rows):
        assert api.get("/admin/rtb/pool", token=admin["token"]).status == 200
    with request("POST /webhooks", rows):
        hook = api.post("/webhooks", {"url": "https://hooks.example.com/x", "events": ["call.completed"]},
                        token=buyer["token"]).data
    with request("GET /webhooks", rows):
        assert api.get("/webhooks", token=buyer["token"]).status == 200
    with request("POST /webhooks/{id}/test", rows):
        assert api.post(f"/webhooks/{hook['id']}/test", token=buyer["token"]).status == 202
    with request("GET /webhooks/{id}/deliveries", rows):
        assert api.get(f"/webhooks/{hook['id']}/deliveries", token=buyer["token"]).status == 200
    with request("DELETE /webhooks/{id}", rows):
        assert api.call("DELETE", f"/webhooks/{hook['id']}", token=buyer["token"]).status == 204


def money(api, buyer: dict, seller: dict, rows: list) -> None:
    """Money in by card (the Stripe emulator behind the SDK) and out to a buyer's payout account."""
    with request("POST /billing/payment-methods", rows):
        card = api.post("/billing/payment-methods", {"payment_method": "pm_card_visa"}, token=seller["token"])
    assert card.status == 201, card.body
    with request("POST /billing/top-ups", rows):
        made = api.post("/billing/top-ups", {"amount": "50.00", "payment_method_id": card.data["payment_method_id"]},
                        token=seller["token"], headers={"Idempotency-Key": str(uuid.uuid4())})
    assert made.status == 201, made.body
    with request("GET /billing/top-ups", rows):
        assert api.get("/billing/top-ups", token=seller["token"]).status == 200
    with request("GET /account/balance (earnings split)", rows):
        assert api.get("/account/balance", token=buyer["token"]).status == 200
    account = api.post("/billing/payout-account", token=buyer["token"]).data
    import requests
    assert requests.get(account["onboarding_url"], timeout=10).status_code == 200
    from chalicelib.domain.ledger import BALANCE, EARNINGS, transfer
    from chalicelib.persistence.ledger import post
    from chalicelib import clock
    post(transfer("bench-earned", "call_settlement", "Call", debit=(seller["user"]["id"], BALANCE),
                  credit=(buyer["user"]["id"], EARNINGS), amount=30_0000, reference="bench"),
         clock.now() - timedelta(days=8), enforce_limits=False)  # a payout past its dispute window
    with request("POST /billing/withdrawals", rows):
        paid = api.post("/billing/withdrawals", {"amount": "25.00"}, token=buyer["token"],
                        headers={"Idempotency-Key": str(uuid.uuid4())})
    assert paid.status == 201, paid.body
    with request("GET /billing/withdrawals", rows):
        assert api.get("/billing/withdrawals", token=buyer["token"]).status == 200


def main() -> None:
    rows: list = []
    with product() as (client, api, _):
        _count_items()
        buyer, seller = api.register("buyer"), api.register("seller")
        api.fund(seller)
        api.fund(buyer, "10.00")  # the buyer pays the minutes
        first = api.post("/bid-profiles", {"bid_amount": "2.00", "destination_number": "+13125552671"},
                         token=seller["token"]).data
        call_body = {"from_number": "+14155552671", "to_number": "+12125552671", "direction": "inbound"}

        with request("POST /calls", rows):
            call = api.post("/calls", call_body, token=buyer["token"]).data
        with request("POST /calls (outbound)", rows):  # outside New York's calling hours a refusal: same calls
            assert api.post("/calls", {**call_body, "direction": "outbound"}, token=buyer["token"]).status in (201, 403)
        auction = api.post("/auctions", {"call_id": call["id"], "reserve_price": "1.00", "duration": 60},
                           token=buyer["token"]).data
        with request("POST /bids", rows):
            assert api.post("/bids", {"auction_id": auction["id"], "amount": "3.00"}, token=seller["token"]).status == 201
        with request("POST /auctions/{id}/complete (close)", rows):
            api.post(f"/auctions/{auction['id']}/complete", token=buyer["token"])
        with request("POST /calls/{id}/route (auction winner)", rows):
            assert api.post(f"/calls/{call['id']}/route", token=buyer["token"]).status == 200
        for status in ("ringing", "in_progress"):
            api.call("PATCH", f"/calls/{call['id']}/status", {"status": status}, token=buyer["token"])
        with request("POST /calls/{id}/complete (settle)", rows):
            assert api.post(f"/calls/{call['id']}/complete", {"duration": 90}, token=buyer["token"]).status == 200
        views(api, buyer, seller, call["id"], rows)
        instant = api.post("/calls", call_body, token=buyer["token"]).data
        with request("POST /calls/{id}/route (instant, 1 profile)", rows):
            assert api.post(f"/calls/{instant['id']}/route", token=buyer["token"]).status == 200
        terms_set(api, buyer, seller, first, call_body, rows)
        rtb_and_webhooks(api, buyer, rows)
        money(api, buyer, seller, rows)
        assert api.call("DELETE", f"/bid-profiles/{first['id']}", token=seller["token"]).status == 204
        call_body = {**call_body, "from_number": "+14155552671"}  # San Francisco, CA
        scale = instant_routing_at_scale(api, buyer, seller, call_body)

    print("DynamoDB calls and items read per request (each includes 1 TransactGetItems for authentication, "
          "2 items, and 1 UpdateItem counting the user's rate limit: bench/rate_limit_calls.py)")
    for label, total, by_operation, items in rows:
        print(f"  {label:45s} calls {total:2d}  items {items:3d}  {json.dumps(by_operation)}")
    print("Instant routing: DynamoDB items read per route, 10 of the active profiles matching the call (US/CA)")
    for label, total, by_operation, items in scale:
        print(f"  {label:50s} items read: route_entries {items.get('route_entries', 0)}, "
              f"bid_profiles {items.get('bid_profiles', 0)}, profile_spend {items.get('profile_spend', 0)}, "
              f"all tables {sum(items.values())}  {json.dumps(items)}")
        print(f"  {'':50s} calls: {total}  {json.dumps(by_operation)}")


if __name__ == "__main__":
    main()
