"""Admins see every user's calls, numbers, orders and ledger entries, set credit limits, (de)activate
users, and read the platform's books (issue 10 part 7)."""
import pytest

from tests.api.test_numbers import buy, run_provisioning, search
from tests.helpers import PASSWORD

CALLER, CALLEE = "+14155552671", "+12125552671"
UNKNOWN = "6f1c1d8e-3c7b-4b8e-9a3a-1d2e3f4a5b6c"


pytestmark = pytest.mark.usefixtures("afternoon_in_new_york")  # 13:00 in New York: calling hours


@pytest.fixture
def admin(api):
    return api.admin()


def new_call(api, buyer):
    result = api.post("/calls", {"from_number": CALLER, "to_number": CALLEE}, token=buyer["token"])
    assert result.status == 201, result.body
    return result.data["id"]


def ids(result):
    assert result.status == 200, result.body
    return [item.get("id") or item.get("order_id") or item.get("transaction_id") for item in result.data]


def test_admins_list_every_users_calls_or_one_users(api, admin):
    ada, bob = api.register("buyer"), api.register("buyer")
    ada_calls = [new_call(api, ada) for _ in range(2)]
    bob_call = new_call(api, bob)

    everyone = api.get("/calls?limit=2", token=admin["token"])
    assert everyone.body["pagination"]["total"] == 3
    rest = api.get(f"/calls?limit=2&next_token={everyone.body['pagination']['next_token']}", token=admin["token"])
    assert set(ids(everyone) + ids(rest)) == {*ada_calls, bob_call}

    only_ada = api.get(f"/calls?user_id={ada['user']['id']}", token=admin["token"])
    assert sorted(ids(only_ada)) == sorted(ada_calls) and only_ada.body["pagination"]["total"] == 2
    assert api.get(f"/calls?user_id={UNKNOWN}", token=admin["token"]).error["code"] == "USER_NOT_FOUND"
    pending = api.get("/calls?status=pending", token=admin["token"])
    assert pending.body["pagination"]["total"] == 3


def test_a_user_lists_only_their_own(api):
    ada, bob = api.register("buyer"), api.register("buyer")
    mine = new_call(api, ada)
    new_call(api, bob)
    assert ids(api.get(f"/calls?user_id={ada['user']['id']}", token=ada["token"])) == [mine]
    for path in ("/calls", "/numbers", "/orders", "/billing/transactions"):
        refused = api.get(f"{path}?user_id={bob['user']['id']}", token=ada["token"])
        assert refused.status == 403 and refused.error["code"] == "FORBIDDEN", path


def test_admins_see_sellers_calls_by_naming_the_seller(api, admin):
    buyer, seller = api.register("buyer"), api.register("seller")
    api.fund(buyer, "10.00")
    api.fund(seller)
    api.post("/bid-profiles", {"criteria": {}, "bid_amount": "5.00", "destination_number": "+13125552671"},
             token=seller["token"])
    routed = new_call(api, buyer)
    assert api.post(f"/calls/{routed}/route", token=buyer["token"]).status == 200
    assert ids(api.get(f"/calls?user_id={seller['user']['id']}", token=admin["token"])) == [routed]


def test_admins_list_every_users_numbers_and_orders(api, client, admin):
    ada, bob = api.register("buyer"), api.register("buyer")
    for user in (ada, bob):
        api.fund(user)
    stock = [n["phone_number"] for n in search(api, ada["token"])]
    orders = [buy(api, ada["token"], stock[0]).data["order_id"], buy(api, bob["token"], stock[1]).data["order_id"]]
    run_provisioning(client)

    numbers = api.get("/numbers", token=admin["token"])
    assert {n["phone_number"] for n in numbers.data} == set(stock[:2]) and numbers.body["pagination"]["total"] == 2
    bobs = api.get(f"/numbers?user_id={bob['user']['id']}", token=admin["token"])
    assert [n["phone_number"] for n in bobs.data] == [stock[1]]
    active = api.get("/numbers?status=ACTIVE", token=admin["token"])
    assert active.body["pagination"]["total"] == 2

    everyone = api.get("/orders", token=admin["token"])
    assert set(ids(everyone)) == set(orders) and everyone.body["pagination"]["total"] == 2
    assert ids(api.get(f"/orders?user_id={ada['user']['id']}", token=admin["token"])) == [orders[0]]


def test_admins_list_every_accounts_ledger_entries(api, admin):
    ada, bob = api.register("buyer"), api.register("buyer")
    api.fund(ada, "10.00")
    api.fund(bob, "20.00")
    everything = api.get("/billing/transactions?limit=100", token=admin["token"])
    assert everything.status == 200
    # Each credit has two legs: the user's balance and platform funding.
    assert everything.body["pagination"]["total"] == len(everything.data) == 4
    assert sorted(e["amount"] for e in everything.data) == ["-10.00", "-20.00", "10.00", "20.00"]
    bobs = api.get(f"/billing/transactions?user_id={bob['user']['id']}", token=admin["token"])
    assert [e["amount"] for e in bobs.data] == ["20.00"]


def test_a_credit_limit_lets_an_account_spend_below_zero_and_no_further(api, admin, client):
    buyer = api.register("buyer")
    stock = [n["phone_number"] for n in search(api, buyer["token"])]
    assert buy(api, buyer["token"], stock[0]).status == 402  # 2.50 with nothing to spend

    updated = api.put(f"/admin/users/{buyer['user']['id']}", {"credit_limit": "3.00"}, token=admin["token"])
    assert updated.status == 200, updated.body
    assert updated.data["billing"]["credit_limit"] == "3.00" and updated.data["billing"]["available"] == "3.00"
    assert buy(api, buyer["token"], stock[0]).status == 201
    assert buy(api, buyer["token"], stock[1]).status == 402  # 0.50 left
    run_provisioning(client)
    balance = api.get("/account/balance", token=buyer["token"]).data
    assert balance["balance"] == "-2.50" and balance["available"] == "0.50"

    # A limit the debt already passes would leave the account below it at once: 409.
    refused = api.put(f"/admin/users/{buyer['user']['id']}", {"credit_limit": "0"}, token=admin["token"])
    assert refused.status == 409 and refused.error["code"] == "CREDIT_LIMIT_BELOW_DEBT"
    lowered = api.put(f"/admin/users/{buyer['user']['id']}", {"credit_limit": "2.50"}, token=admin["token"])
    assert lowered.data["billing"]["available"] == "0.00"


@pytest.mark.parametrize("body", [{"credit_limit": "-1.00"}, {"credit_limit": "1.00001"}, {"active": "no"},
                                  {"credit_limit": -1},
                                  {"credit_limit": "2000000"}, {"role": "admin"}])
def test_user_updates_are_validated(api, admin, body):
    user = api.register("buyer")
    result = api.put(f"/admin/users/{user['user']['id']}", body, token=admin["token"])
    assert result.status == 400, result.body


def test_deactivation_refuses_login_and_ends_sessions_until_activated(api, admin):
    user = api.register("seller")
    assert api.get("/profile", token=user["token"]).status == 200
    off = api.put(f"/admin/users/{user['user']['id']}", {"active": False}, token=admin["token"])
    assert off.status == 200 and off.data["status"] == "deactivated"

    assert api.get("/profile", token=user["token"]).status == 401
    login = api.post("/auth/login", {"email": user["email"], "password": PASSWORD})
    assert login.status == 403 and login.error["code"] == "ACCOUNT_DEACTIVATED"

    on = api.put(f"/admin/users/{user['user']['id']}", {"active": True}, token=admin["token"])
    assert on.data["status"] == "active"
    assert api.post("/auth/login", {"email": user["email"], "password": PASSWORD}).status == 200
    assert api.put(f"/admin/users/{admin['user_id']}", {"active": False}, token=admin["token"]).status == 403
    assert api.put(f"/admin/users/{UNKNOWN}", {"active": False}, token=admin["token"]).status == 404


def test_the_platform_books_balance(api, admin, client):
    buyer, seller = api.register("buyer"), api.register("seller")
    api.fund(buyer, "10.00")
    api.fund(seller, "20.00")
    stock = [n["phone_number"] for n in search(api, buyer["token"])]
    buy(api, buyer["token"], stock[0])
    run_provisioning(client)
    # A call sold, routed and completed: money moves from the seller's held to the buyer's earnings.
    api.post("/bid-profiles", {"criteria": {}, "bid_amount": "5.00", "destination_number": "+13125552671"},
             token=seller["token"])
    call_id = new_call(api, buyer)
    api.post(f"/calls/{call_id}/route", token=buyer["token"])
    for status in ("ringing", "in_progress"):
        api.call("PATCH", f"/calls/{call_id}/status", {"status": status}, token=buyer["token"])
    assert api.post(f"/calls/{call_id}/complete", {"duration": 95}, token=buyer["token"]).status == 200

    books = api.get("/admin/ledger", token=admin["token"])
    assert books.status == 200, books.body
    data = books.data
    assert data["balanced"] is True and data["sum"] == "0.00" and data["snapshot"] is True
    platform = {a["account_id"]: a for a in data["platform_accounts"]}
    assert platform["platform:funding"]["balance"] == "-30.00"
    # The number's setup and first month, and the 20 % take of the call's 5.00.
    assert platform["platform:revenue"]["balance"] == "3.50"
    assert platform["platform:telephony"]["balance"] == "0.04"  # two started minutes at 0.02
    # 30.00 funded, less what the platform took; the buyer's 3.96 payout sits in earnings, not balance.
    assert data["totals"] == {"balance": "-3.96", "earnings": "3.96", "held": "0.00"}
    assert data["accounts"] >= 6  # three platform accounts, the buyer, the seller and the admin
    assert api.get("/admin/ledger", token=buyer["token"]).status == 403


def test_the_audit_is_a_job_that_sums_every_account_against_the_kept_totals(api, admin, client, outbox):
    """POST /admin/ledger/audit queues the job; the job's report reaches the admin: clean while the kept
    totals are the accounts' sums, and a difference named when an account moved outside a posting."""
    import json

    from chalicelib.gateways import queues
    from chalicelib.persistence.tables import AccountModel
    from tests.api.test_numbers import sqs_event

    buyer = api.register("buyer")
    api.fund(buyer, "12.50")
    assert api.post("/admin/ledger/audit", token=buyer["token"]).status == 403

    def audited() -> str:
        queued = api.post("/admin/ledger/audit", token=admin["token"])
        assert queued.status == 202 and queued.data["status"] == "queued", queued.body
        sqs = queues._client()
        (message,) = sqs.receive_message(QueueUrl=queues.queue_url(queues.LEDGER_AUDIT)).get("Messages", [])
        assert json.loads(message["Body"])["admin_id"] == admin["user_id"]
        client.lambda_.invoke("audit_ledger", sqs_event(message))
        (note,) = [m.body for item in outbox.items() for m in item.messages if m.queue == queues.NOTIFICATIONS
                   and m.body["kind"] == "ledger_audit"]
        assert note["user_id"] == admin["user_id"]
        return note["subject"] + ": " + note["message"]

    report = audited()
    assert report.startswith("Ledger audit: clean") and "no difference" in report and "the books balance" in report
    AccountModel(account_id=buyer["user"]["id"]).update(actions=[AccountModel.balance.add(100)])  # not a posting
    report = audited()
    assert report.startswith("Ledger audit: DIFFERENCES") and "balance +100" in report and "do NOT balance" in report
