"""A page reads what it returns: the items DynamoDB reads for a page of calls are the same whether the
listing has about 100 or 5,000 rows (120 and 5,000 calls, half of them completed), for the first page and
for a later one (through next_token), filtered by status or not."""
from __future__ import annotations

import uuid
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta

from pynamodb.connection.base import Connection

from chalicelib.persistence import counters
from chalicelib.persistence.tables import CallModel, CounterModel

PAGE = 20


@contextmanager
def items_read():
    """Items DynamoDB read (what the calls were billed for), by operation."""
    read: Counter = Counter()
    original = Connection._make_api_call

    def counting(self, operation, kwargs, *args, **more):
        response = original(self, operation, kwargs, *args, **more)
        if operation in ("Query", "Scan"):
            read[operation] += response.get("ScannedCount", 0)
        elif operation == "GetItem":
            read[operation] += int("Item" in response)
        elif operation == "TransactGetItems":
            read[operation] += sum(1 for r in response.get("Responses", []) if r.get("Item"))
        elif operation == "BatchGetItem":
            read[operation] += sum(len(v) for v in response.get("Responses", {}).values())
        return response

    Connection._make_api_call = counting
    try:
        yield read
    finally:
        Connection._make_api_call = original


def seed_calls(owner_id: str, count: int, clock) -> None:
    """`count` calls of one buyer, half of them completed, written as the product writes them."""
    with CallModel.batch_write() as batch:
        for n in range(count):
            status = "completed" if n % 2 else "pending"
            batch.save(CallModel(
                call_id=str(uuid.uuid4()), owner_id=owner_id, from_number="+14155552671", to_number="+12125552671",
                direction="inbound", status=status, owner_status=f"{owner_id}#{status}",
                created_at=clock() - timedelta(seconds=n), updated_at=clock()))
    with CounterModel.batch_write() as batch:
        batch.save(CounterModel(counter_key=counters.calls(owner_id), value=count))
        for status in ("completed", "pending"):
            batch.save(CounterModel(counter_key=counters.calls(owner_id, status), value=count // 2))


def page_reads(api, token: str, query: str) -> tuple[int, int, dict]:
    """Items read for the first page and for the third (reached through next_token)."""
    with items_read() as first:
        page1 = api.get(f"/calls?limit={PAGE}{query}", token=token)
    assert page1.status == 200 and len(page1.data) == PAGE
    page2 = api.get(f"/calls?limit={PAGE}{query}&next_token={page1.body['pagination']['next_token']}", token=token)
    assert page2.status == 200, page2.body
    with items_read() as later:
        page3 = api.get(f"/calls?limit={PAGE}{query}&next_token={page2.body['pagination']['next_token']}",
                        token=token)
    assert page3.status == 200 and len(page3.data) == PAGE and page3.body["pagination"]["page"] == 3
    return sum(first.values()), sum(later.values()), page1.body["pagination"]


def test_a_page_reads_the_same_items_at_about_100_and_at_5000_calls(api, clock):
    small, large = api.register("buyer"), api.register("buyer")
    seed_calls(small["user"]["id"], 120, clock)
    seed_calls(large["user"]["id"], 5_000, clock)

    for query, small_total, large_total in (("", 120, 5_000), ("&status=completed", 60, 2_500)):
        small_first, small_later, small_page = page_reads(api, small["token"], query)
        large_first, large_later, large_page = page_reads(api, large["token"], query)
        # authentication (user and session) + the page's items + the total's counter
        assert small_first == large_first == small_later == large_later == 2 + PAGE + 1
        assert (small_page["total"], large_page["total"]) == (small_total, large_total)


def test_a_deep_page_number_asks_for_the_cursor(api):
    buyer = api.register("buyer")
    result = api.get("/calls?limit=100&page=12", token=buyer["token"])
    assert result.status == 400 and result.error["code"] == "PAGE_TOO_DEEP"
    assert api.get("/calls?limit=100&page=11", token=buyer["token"]).status == 200


def test_totals_follow_the_writes(api):
    """Counters are kept by the writes: created calls, their status changes, bids and profiles."""
    buyer = api.register("buyer")
    for _ in range(3):
        assert api.post("/calls", {"from_number": "+14155552671", "to_number": "+12125552671",
                                   "direction": "inbound"}, token=buyer["token"]).status == 201
    first = api.get("/calls", token=buyer["token"]).data[0]
    assert api.call("PATCH", f"/calls/{first['id']}/status", {"status": "canceled"}, token=buyer["token"]).status == 200
    totals = {status: api.get(f"/calls{status}", token=buyer["token"]).body["pagination"]["total"]
              for status in ("", "?status=pending", "?status=canceled")}
    assert totals == {"": 3, "?status=pending": 2, "?status=canceled": 1}
    canceled = api.get("/calls?status=canceled", token=buyer["token"]).data
    assert [c["id"] for c in canceled] == [first["id"]]


def test_an_admin_list_over_shards_reads_about_a_page_and_pages_in_order(api, clock):
    """Every user's calls (the everything index, in shards): a page reads about what it returns, a chunk of
    each shard (PAGE/16 + 1, read at once), as much at 2,000 calls as at 200; three pages through next_token
    give the newest 60 calls in order, each once."""
    from chalicelib.persistence.base import shard_count

    admin = api.admin()
    buyers = [api.register("buyer")["user"]["id"] for _ in range(2)]
    seed_calls(buyers[0], 200, clock)
    with CounterModel.batch_write() as batch:
        batch.save(CounterModel(counter_key=f"{counters.ALL_CALLS}#*#0", value=200))
    small = [page_reads(api, admin["token"], "")]
    seed_calls(buyers[1], 1_800, clock)
    with CounterModel.batch_write() as batch:
        batch.save(CounterModel(counter_key=f"{counters.ALL_CALLS}#*#0", value=2_000))
    large = [page_reads(api, admin["token"], "")]
    # authentication, the page, a first chunk of every shard (PAGE/16 + 1 each) and a little more from the
    # shards the newest items are in, the total's counters: about a page, whatever the listing's size.
    bound = 2 + 2 * (PAGE + (PAGE // shard_count() + 2) * shard_count()) + shard_count()
    for first, later, _ in small + large:
        assert first <= bound and later <= bound
    assert abs(small[0][0] - large[0][0]) <= 2 * shard_count() and abs(small[0][1] - large[0][1]) <= 2 * shard_count()
    assert small[0][2]["total"] == 200 and large[0][2]["total"] == 2_000

    seen, token = [], None
    for _ in range(3):
        page = api.get(f"/calls?limit={PAGE}" + (f"&next_token={token}" if token else ""), token=admin["token"])
        seen += [(c["created_at"], c["id"]) for c in page.data]
        token = page.body["pagination"]["next_token"]
    newest = sorted(((c.created_at, c.call_id) for c in CallModel.scan()), reverse=True)[:3 * PAGE]
    assert [call_id for _, call_id in seen] == [call_id for _, call_id in newest]
