"""Races against a real moto server over HTTP (each request atomic, as DynamoDB's are), with many
threads: 100 sellers bidding at once lose no bid, a re-bid race keeps the highest, closing many
times at once closes once with one winner, completing many times at once moves money once."""
from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib.domain.errors import InvalidState, ValidationFailed
from chalicelib.domain.ledger import admin_credit
from chalicelib.domain.money import to_minor
from chalicelib.caller import Principal
from chalicelib.persistence import bid_shards
from chalicelib.persistence.ledger import get_account, open_account, post
from chalicelib.persistence.tables import AuctionModel, BidModel, LedgerEntryModel, UserModel
from chalicelib.services import auctions, bid_profiles, bids, calls, routing

SELLERS = 100
CALL = {"from_number": "+14155552671", "to_number": "+12125552671", "direction": "inbound"}


@pytest.fixture
def moto_server(_emulated_aws, clock):
    """Point the product at a fresh ThreadedMotoServer for one test, then back at in-process moto."""
    from moto.server import ThreadedMotoServer

    from chalicelib.config import reset_settings
    from chalicelib.gateways import queues
    from local.provision import provision
    from chalicelib.persistence import db

    def rebind():
        reset_settings()
        db._bound_to = None
        db.configure()  # the models' endpoint now, not at their next use: fixtures scan them directly
        queues.reset()

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    saved = {name: os.environ.get(name) for name in ("DYNAMODB_ENDPOINT", "SQS_ENDPOINT")}
    os.environ.update(DYNAMODB_ENDPOINT=f"http://{host}:{port}", SQS_ENDPOINT=f"http://{host}:{port}")
    rebind()
    try:
        provision()
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        rebind()
        server.stop()


def user(account_type: str, clock, funds: str | None = None) -> Principal:
    """An active user (routing asks whether a seller may act) with its account."""
    user_id = str(uuid.uuid4())
    UserModel(user_id=user_id, email=f"{user_id}@example.com", password_hash="-", first_name="A", last_name="B",
              account_type=account_type, created_at=clock(), updated_at=clock()).save()
    open_account(user_id, user_id, 0, clock()).save()
    if funds:
        post(admin_credit(f"funds:{user_id}", user_id, to_minor(funds), "test funds"), clock())
    return Principal(user_id=user_id, account_type=account_type, session_id="s", user=None)


def test_concurrent_bids_close_and_complete(moto_server, clock):
    buyer = user("buyer", clock, funds="10.00")
    with ThreadPoolExecutor(16) as pool:
        sellers = list(pool.map(lambda _: user("seller", clock, funds="50.00"), range(SELLERS)))
        list(pool.map(lambda s: bid_profiles.create_profile(s, {
            "criteria": {"geography": {"countries": ["US"]}}, "bid_amount": "2.00", "destination_number": "+13125552671"}), sellers))
    call = calls.create_call(buyer, CALL)
    auction = auctions.create_auction(buyer, call.call_id, "1.00", 900)

    # 100 sellers at once, each with its own amount (1.01 .. 2.00): every bid stands.
    amounts = [f"{1 + (i + 1) / 100:.2f}" for i in range(SELLERS)]
    with ThreadPoolExecutor(SELLERS) as pool:
        placed = list(pool.map(lambda pair: bids.place_bid(pair[0], auction.auction_id, pair[1]),
                               zip(sellers, amounts)))
    assert len(placed) == SELLERS
    stored = {b.seller_id: int(b.amount) for b in bid_shards.read_bids(auction)}
    assert stored == {s.user_id: to_minor(a) for s, a in zip(sellers, amounts)}

    # One seller re-bids many times at once: the highest of them stands, nothing else is lost.
    rebidder = sellers[0]
    rebids = [f"{3 + i / 100:.2f}" for i in range(20)]

    def rebid(amount):
        try:
            return bids.place_bid(rebidder, auction.auction_id, amount)
        except ValidationFailed as error:  # a lower re-bid that lost the race is refused, never stored
            if error.code != "BID_TOO_LOW":
                raise  # any other outcome fails the test (pool.map raises it below)
            return error

    with ThreadPoolExecutor(20) as pool:
        outcomes = list(pool.map(rebid, rebids))
    assert any(not isinstance(o, ValidationFailed) for o in outcomes)  # the highest at least was placed
    standing = BidModel.get(bid_shards.bid_key(auction, rebidder.user_id), rebidder.user_id, consistent_read=True)
    assert int(standing.amount) == to_minor(max(rebids))
    assert len(bid_shards.read_bids(auction)) == SELLERS

    # Closing from many places at once: one winner, the same for everyone.
    with ThreadPoolExecutor(10) as pool:
        closes = list(pool.map(lambda _: auctions.close_auction(auction.auction_id, clock()), range(10)))
    assert {a.winner["seller_id"] for a in closes} == {rebidder.user_id}
    assert {a.closed_at for a in closes} == {closes[0].closed_at}
    assert auctions.sweep_auctions(clock()) == 0

    # The close message, the sweeper and the buyer together, after the end: still the same single winner.
    clock.advance(seconds=901)
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda close: close(), [lambda: auctions.close_if_due(auction.auction_id, clock()),
                                              lambda: auctions.sweep_auctions(clock()),
                                              lambda: auctions.complete_auction(buyer, auction.auction_id)]))
    assert AuctionModel.get(auction.auction_id).winner == closes[0].winner

    def route(_):
        try:
            return routing.route_call(buyer, call.call_id)
        except InvalidState as error:
            return error

    with ThreadPoolExecutor(5) as pool:  # routed once: the price is held once
        routes = list(pool.map(route, range(5)))
    assert sum(not isinstance(r, InvalidState) for r in routes) == 1
    assert get_account(rebidder.user_id).held == to_minor(max(rebids))
    calls.change_status(buyer, call.call_id, "ringing")
    calls.change_status(buyer, call.call_id, "in_progress")

    def complete(_):
        try:
            return calls.complete_call(buyer, call.call_id, 120)
        except InvalidState as error:
            return error

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(complete, range(10)))
    assert sum(not isinstance(r, InvalidState) for r in results) == 1
    price = to_minor(max(rebids))
    assert get_account(rebidder.user_id).balance == to_minor("50.00") - price  # paid once
    assert get_account(rebidder.user_id).held == 0
    settlement = (LedgerEntryModel.reference == call.call_id) & (LedgerEntryModel.kind == "call_settlement")
    assert len(list(LedgerEntryModel.query(rebidder.user_id, filter_condition=settlement))) == 1
    assert get_account(buyer.user_id).earnings > 0
