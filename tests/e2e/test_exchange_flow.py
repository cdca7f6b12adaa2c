"""The exchange over HTTP against the running product (real moto server, real dispatcher):
profiles → call → auction → concurrent bids → automatic close → route → ringing → in_progress →
complete → balances; and the races: many sellers at once, closing twice, completing twice."""
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.test_identity_flow import register, wait_for

pytestmark = pytest.mark.e2e
# Inbound: the TCPA window applies to outbound calls, and these tests run at any hour.
CALL = {"from_number": "+14155552671", "to_number": "+12125552671", "direction": "inbound"}
AUTO_CLOSE_SECONDS = 60


def seller_with_profile(product, admin: str, bid: str = "2.00") -> dict:
    seller = register(product, "seller")
    token = seller["tokens"]["access_token"]
    product.call("POST", f"/admin/users/{seller['user']['id']}/credits", token=admin,
                 json={"amount": "50.00", "reason": "e2e funds"}, headers={"Idempotency-Key": str(uuid.uuid4())})
    created = product.call("POST", "/bid-profiles", token=token, json={
        "criteria": {"geography": {"countries": ["US"]}}, "bid_amount": bid, "destination_number": "+13125552671"})
    assert created.status_code == 201, created.text
    return {**seller, "token": token}


def funded_buyer(product, admin: str) -> str:
    """A buyer with funds for the telephony of its calls; its access token."""
    buyer = register(product, "buyer")
    product.call("POST", f"/admin/users/{buyer['user']['id']}/credits", token=admin,
                 json={"amount": "10.00", "reason": "e2e funds"}, headers={"Idempotency-Key": str(uuid.uuid4())})
    return buyer["tokens"]["access_token"]


def auctioned_call(product, buyer_token: str, duration: int) -> tuple[str, str]:
    call = product.call("POST", "/calls", token=buyer_token, json=CALL).json()["data"]
    auction = product.call("POST", "/auctions", token=buyer_token,
                           json={"call_id": call["id"], "reserve_price": "1.00", "duration": duration})
    assert auction.status_code == 201, auction.text
    return call["id"], auction.json()["data"]["id"]


def test_exchange_flow_with_automatic_close(product):
    admin = product.login(ADMIN_EMAIL, ADMIN_PASSWORD)["tokens"]["access_token"]
    buyer_token = funded_buyer(product, admin)
    sellers = [seller_with_profile(product, admin) for _ in range(4)]
    # A minute of the product's time: the bids land long before its end however slow the machine, and the
    # test moves the clock past the end rather than waiting for it.
    call_id, auction_id = auctioned_call(product, buyer_token, duration=AUTO_CLOSE_SECONDS)

    amounts = ["3.00", "4.00", "5.50", "4.50"]
    with ThreadPoolExecutor(len(sellers)) as pool:
        placed = list(pool.map(lambda pair: product.call("POST", "/bids", token=pair[0]["token"], json={
            "auction_id": auction_id, "amount": pair[1]}), zip(sellers, amounts)))
    assert [r.status_code for r in placed] == [201] * 4

    assert product.call("GET", f"/auctions/{auction_id}", token=buyer_token).json()["data"]["status"] == "active"

    # Nobody closes it (no schedule, so no sweeper, runs in the e2e runtime: see conftest): the SQS message
    # delayed to its end does, through the dispatcher, once the product's clock and SQS's pass the end.
    product.advance_clock(AUTO_CLOSE_SECONDS)
    closed = wait_for(lambda: (lambda a: a if a["status"] == "completed" else None)(
        product.call("GET", f"/auctions/{auction_id}", token=buyer_token).json()["data"]))
    assert closed["winner"]["seller_id"] == sellers[2]["user"]["id"] and closed["winner"]["amount"] == "5.50"
    assert len(closed["bids"]) == 4

    routed = product.call("POST", f"/calls/{call_id}/route", token=buyer_token).json()["data"]
    assert routed["status"] == "queued" and routed["price"] == "5.50"
    held = product.call("GET", "/account/balance", token=sellers[2]["token"]).json()["data"]
    assert held["held"] == "5.50" and held["balance"] == "44.50"  # held from routing until the call ends
    for status in ("ringing", "in_progress"):
        moved = product.call("PATCH", f"/calls/{call_id}/status", token=buyer_token, json={"status": status})
        assert moved.json()["data"]["status"] == status
    done = product.call("POST", f"/calls/{call_id}/complete", token=buyer_token, json={"duration": 95})
    assert done.status_code == 200 and done.json()["data"]["cost"] == "0.04"

    buyer_balance = product.call("GET", "/account/balance", token=buyer_token).json()["data"]
    winner_balance = product.call("GET", "/account/balance", token=sellers[2]["token"]).json()["data"]
    loser_balance = product.call("GET", "/account/balance", token=sellers[0]["token"]).json()["data"]
    assert buyer_balance["earnings"] == "4.36" and buyer_balance["balance"] == "10.00"  # telephony from the payout
    assert winner_balance["balance"] == "44.50" and winner_balance["held"] == "0.00"
    assert loser_balance["balance"] == "50.00"


def test_many_sellers_at_once_double_close_and_double_complete(product):
    admin = product.login(ADMIN_EMAIL, ADMIN_PASSWORD)["tokens"]["access_token"]
    buyer_token = funded_buyer(product, admin)
    sellers = [seller_with_profile(product, admin) for _ in range(20)]
    call_id, auction_id = auctioned_call(product, buyer_token, duration=900)

    bids = [(s, f"{2 + i * 0.25:.2f}") for i, s in enumerate(sellers)]
    with ThreadPoolExecutor(20) as pool:
        placed = list(pool.map(lambda b: product.call("POST", "/bids", token=b[0]["token"], json={
            "auction_id": auction_id, "amount": b[1]}), bids))
    assert all(r.status_code == 201 for r in placed), [r.text for r in placed if r.status_code != 201]

    with ThreadPoolExecutor(6) as pool:
        closes = list(pool.map(lambda _: product.call("POST", f"/auctions/{auction_id}/complete",
                                                      token=buyer_token), range(6)))
    winners = {tuple(sorted(r.json()["data"]["winner"].items())) for r in closes}
    assert all(r.status_code == 200 for r in closes) and len(winners) == 1  # closed once, one winner
    auction = product.call("GET", f"/auctions/{auction_id}", token=buyer_token).json()["data"]
    assert len(auction["bids"]) == 20 and auction["bid_count"] == 20  # no bid lost
    assert auction["winner"]["seller_id"] == sellers[-1]["user"]["id"] and auction["winner"]["amount"] == "6.75"

    product.call("POST", f"/calls/{call_id}/route", token=buyer_token)
    for status in ("ringing", "in_progress"):
        product.call("PATCH", f"/calls/{call_id}/status", token=buyer_token, json={"status": status})
    with ThreadPoolExecutor(6) as pool:
        completes = list(pool.map(lambda _: product.call("POST", f"/calls/{call_id}/complete", token=buyer_token,
                                                         json={"duration": 60}), range(6)))
    assert sorted(r.status_code for r in completes) == [200] + [400] * 5
    winner_balance = product.call("GET", "/account/balance", token=sellers[-1]["token"]).json()["data"]
    assert winner_balance["balance"] == "43.25"  # paid once
