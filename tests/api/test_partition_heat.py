"""No hot partition key (issue 22): every write of a workload of the exchange recorded where it lands
(tests/partition_heat.py: a botocore event hook on the product's DynamoDB client), and no partition key of
any table or index takes more than 1/16 of its writes plus what chance allows a fair hash at that count;
and one auction's bids spread over its K shards.

The workload here is small (make test must stay fast): its bound is computed for its count.
bench/partition_heat.py runs 2,000 calls from 200 buyers to 200 sellers, and prints the platform ceiling."""
from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest

from chalicelib.caller import Principal
from chalicelib.persistence import bid_shards
from chalicelib.persistence.base import shard_keys
from chalicelib.persistence.tables import AccountModel, AuctionModel, CounterModel, SellerBookModel, UserModel
from chalicelib.services import auctions, bids, calls
from tests.api.test_webhooks import Twilio
from tests.partition_heat import SHARDS, HeatRecorder, Workload, run_workload


@pytest.fixture(autouse=True)
def calling_hours(clock):
    clock.current = datetime(2026, 11, 2, 18, 0, tzinfo=timezone.utc)  # 13:00 in New York


def test_no_partition_key_takes_more_than_its_share_of_a_workloads_writes(api, client, capsys):
    workload = Workload(buyers=20, sellers=20, calls=40, dispute_every=8)
    with HeatRecorder() as recorder:
        done = run_workload(api, client, workload, twilio=Twilio(api))
    heat = recorder.heat
    with capsys.disabled():
        print(f"\nworkload {dict(done)}: the ten hottest partition keys\n{heat.report(10)}")
    assert done["reported"] and done["auctions"] and done["live"] and done["disputes"] and done["numbers"]
    # Every kind of item the issue names was written, so the bound below is checked on each.
    for label in ("calls/everything", "accounts/everything", "ledger_entries/everything", "users/all_users",
                  "users/by_type", "auctions/open_by_end", "orders/pending", "numbers/billable", "calls/open_disputes",
                  "bids", "accounts", "ledger_totals", "open_auction_entries"):
        assert heat.total(label) > 0, label
    assert heat.too_hot() == [], heat.too_hot()
    # The platform's accounts are spread too: a settlement's revenue lands on one of SHARDS shard accounts.
    revenue = [key for key in heat.writes["accounts"] if key.startswith("platform:revenue#")]
    assert len(revenue) >= 8 and all(heat.writes["accounts"][key] <= heat.total("accounts") / SHARDS for key in revenue)


def test_an_index_list_reads_every_shard_and_pages_by_next_token(api, client):
    """The admin's list of every user merges the shards newest first, and its next_token carries each
    shard's position: pages in a row give every user once, in order."""
    from tests.helpers import Api

    created = [api.register("buyer") for _ in range(7)]
    admin = Api(client).admin()
    assert len({UserModel.get(u["user"]["id"]).kind for u in created}) > 1  # spread over shards
    seen, token = [], None
    for _ in range(10):
        path = "/admin/users?limit=3" + (f"&next_token={token}" if token else "")
        page = api.get(path, token=admin["token"])
        assert page.status == 200, page.body
        seen += [u["created_at"] + u["id"] for u in page.data]
        token = page.body["pagination"]["next_token"]
        if not token:
            break
    assert len(seen) == len(set(seen)) == 8 and seen == sorted(seen, reverse=True)  # 7 buyers and the admin


BIDS = 1_000


def sellers_with_books(count: int, clock) -> list[Principal]:
    """Sellers as the bid path reads them (a book with one matching profile, money to spend), written in
    batches: the test is about the bids, not registration."""
    principals = [Principal(user_id=str(uuid.uuid4()), account_type="seller", session_id="s", user=None)
                  for _ in range(count)]
    profile = {"criteria": {}, "bid_amount": 20_000, "destination_number": "+13125550001",
               "created_at": clock().isoformat()}
    with SellerBookModel.batch_write() as books, AccountModel.batch_write() as accounts:
        for seller in principals:
            books.save(SellerBookModel(seller_id=seller.user_id, profiles={str(uuid.uuid4()): profile}, version=1))
            accounts.save(AccountModel(account_id=seller.user_id, owner_id=seller.user_id, balance=1_000_000,
                                       spendable=1_000_000, created_at=clock()))
    return principals


def test_a_thousand_concurrent_bids_spread_over_the_auctions_shards_and_the_winner_is_right(api, clock, capsys):
    buyer_id = api.register("buyer")["user"]["id"]
    buyer = Principal(user_id=buyer_id, account_type="buyer", session_id="s", user=None)
    call = calls.create_call(buyer, {"from_number": "+14155552671", "to_number": "+12125552671",
                                     "direction": "inbound"})
    auction = auctions.create_auction(buyer, call.call_id, "1.00", 900)
    shards = int(auction.bid_shards)
    assert shards == 8
    sellers = sellers_with_books(BIDS, clock)
    # 1,000 sellers bid at once, each its own amount (1.00 .. 10.99). Re-bids racing are
    # test_exchange_concurrency.py's.
    offers = [(seller, f"{1 + n / 100:.2f}") for n, seller in enumerate(sellers)]

    with HeatRecorder() as recorder, ThreadPoolExecutor(32) as pool:
        placed = list(pool.map(lambda offer: bids.place_bid(offer[0], auction.auction_id, offer[1]), offers))
    heat = recorder.heat
    assert len(placed) == BIDS  # every one accepted (any refusal raises here)

    per_shard = Counter(heat.writes["bids"])
    with capsys.disabled():
        print(f"\n{len(offers)} bids, {len(placed)} accepted; writes per bid shard: {sorted(per_shard.values())} "
              f"(a fair share: {sum(per_shard.values()) / shards:.0f})")
    assert set(per_shard) == set(bid_shards.bid_keys(auction))  # only the auction's shards
    assert max(per_shard.values()) <= 2 * sum(per_shard.values()) / shards, per_shard
    # Each bid checked its own shard's gate, never the auction item.
    assert set(heat.writes["bid_gates"]) <= set(bid_shards.bid_keys(auction))
    assert heat.total("auctions") == 0

    # Every accepted bid counted once: one standing bid per seller, and each seller's bid list counts it once.
    standing = {b.seller_id: int(b.amount) for b in bid_shards.read_bids(auction)}
    assert standing == {b.seller_id: int(b.amount) for b in placed} and len(standing) == BIDS
    counted = CounterModel.batch_get([f"bids#{s.user_id}" for s in sellers])
    assert sorted(int(c.value) for c in counted) == [1] * len(sellers)

    closed = auctions.close_auction(auction.auction_id, clock())
    assert closed.bid_count == len(sellers)
    assert (closed.winner["seller_id"], closed.winner["amount"]) == (sellers[-1].user_id, 109_900)  # the last: 10.99
    # Closed in every shard: a late bid is refused.
    late = sellers_with_books(1, clock)[0]
    with pytest.raises(Exception) as refused:
        bids.place_bid(late, auction.auction_id, "9.00")
    assert getattr(refused.value, "code", None) == "AUCTION_CLOSED"
    assert AuctionModel.get(auction.auction_id).open_key is None
    assert not [key for key in shard_keys("OPEN") if list(AuctionModel.open_auctions.query(key))]
