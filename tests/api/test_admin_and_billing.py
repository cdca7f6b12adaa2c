"""Admin user management and the ledger as users see it."""
import uuid
import pytest

from chalicelib.persistence.ledger import platform_account
from chalicelib.persistence.tables import AccountModel, LedgerEntryModel, LedgerTransactionModel, UserModel
from tests.helpers import PASSWORD

UNKNOWN = "6f1c1d8e-3c7b-4b8e-9a3a-1d2e3f4a5b6c"


@pytest.fixture
def admin(api):
    return api.admin()


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/admin/users", None),
    ("GET", f"/admin/users/{UNKNOWN}", None),
    ("PUT", f"/admin/users/{UNKNOWN}/suspend", {"reason": "x"}),
    ("PUT", f"/admin/users/{UNKNOWN}/reactivate", None),
    ("POST", f"/admin/users/{UNKNOWN}/credits", {"amount": "1.00", "reason": "x"}),
])
@pytest.mark.parametrize("account_type", ["buyer", "seller"])
def test_admin_routes_are_admin_only(api, method, path, body, account_type):
    user = api.register(account_type)
    result = api.call(method, path, body, token=user["token"])
    assert result.status == 403 and result.error["type"] == "AUTHORIZATION_ERROR"
    assert api.call(method, path, body).status == 401


def test_list_users_paginates_and_filters(api, admin, clock):
    for kind in ["buyer", "buyer", "seller", "buyer", "seller"]:
        clock.advance(seconds=1)
        api.register(kind)
    first = api.get("/admin/users?account_type=buyer&limit=2", token=admin["token"])
    assert first.status == 200
    assert first.body["pagination"] == {"page": 1, "limit": 2, "total": 3, "total_pages": 2,
                                        "next_token": first.body["pagination"]["next_token"]}
    assert all(u["account_type"] == "buyer" for u in first.data)
    second = api.get(f"/admin/users?account_type=buyer&limit=2&next_token={first.body['pagination']['next_token']}",
                     token=admin["token"])
    assert len(second.data) == 1 and second.body["pagination"]["page"] == 2
    assert second.body["pagination"]["next_token"] is None
    assert {u["id"] for u in first.data}.isdisjoint({u["id"] for u in second.data})
    by_page = api.get("/admin/users?account_type=buyer&limit=2&page=2", token=admin["token"])
    assert [u["id"] for u in by_page.data] == [u["id"] for u in second.data]
    everyone = api.get("/admin/users?limit=100", token=admin["token"])
    assert everyone.body["pagination"]["total"] == 6  # five users and the admin


def test_list_users_filters_by_status(api, admin):
    suspended, _ = api.register(), api.register()
    api.put(f"/admin/users/{suspended['user']['id']}/suspend", {"reason": "fraud"}, token=admin["token"])
    result = api.get("/admin/users?status=suspended", token=admin["token"])
    assert [u["id"] for u in result.data] == [suspended["user"]["id"]]


def test_a_cursor_only_works_for_the_listing_that_made_it(api, admin):
    for _ in range(3):
        api.register("buyer")
    token = api.get("/admin/users?account_type=buyer&limit=1", token=admin["token"]).body["pagination"]["next_token"]
    reused = api.get(f"/admin/users?account_type=seller&next_token={token}", token=admin["token"])
    assert reused.status == 400 and reused.error["code"] == "INVALID_NEXT_TOKEN"
    tampered = api.get(f"/admin/users?account_type=buyer&next_token={token[:-2]}xx", token=admin["token"])
    assert tampered.status == 400


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "page=0", "account_type=root", "status=gone", "foo=1"])
def test_list_users_query_validation(api, admin, query):
    result = api.get(f"/admin/users?{query}", token=admin["token"])
    assert result.status == 400 and result.error["type"] == "VALIDATION_ERROR"


def test_get_user_with_billing_summary_and_id_checks(api, admin):
    user = api.register()
    result = api.get(f"/admin/users/{user['user']['id']}", token=admin["token"])
    assert result.status == 200
    assert result.data["billing"] == {"currency": "USD", "balance": "0.00", "earnings": "0.00", "held": "0.00",
                                      "credit_limit": "0.00", "available": "0.00"}
    assert api.get(f"/admin/users/{UNKNOWN}", token=admin["token"]).status == 404
    bad = api.get("/admin/users/not-a-uuid", token=admin["token"])
    assert bad.status == 400 and bad.error["code"] == "INVALID_UUID"


def test_suspension_blocks_at_once_and_reactivation_restores(api, admin):
    user = api.register()
    result = api.put(f"/admin/users/{user['user']['id']}/suspend",
                     {"reason": "Policy violation", "duration_days": 7, "notify_user": False}, token=admin["token"])
    assert result.status == 200
    assert result.data["status"] == "suspended" and result.data["suspension_reason"] == "Policy violation"
    # The user's still-valid access token stops working on the very next request.
    blocked = api.get("/profile", token=user["token"])
    assert blocked.status in (401, 403)
    login = api.post("/auth/login", {"email": user["email"], "password": PASSWORD})
    assert login.status == 403 and login.error["code"] == "ACCOUNT_SUSPENDED"
    assert api.post("/auth/refresh", {"refresh_token": user["tokens"]["refresh_token"]}).status == 401

    assert api.put(f"/admin/users/{user['user']['id']}/reactivate", token=admin["token"]).data["status"] == "active"
    assert api.post("/auth/login", {"email": user["email"], "password": PASSWORD}).status == 200


def test_suspended_user_with_live_session_gets_403(api, admin):
    user = api.register()
    UserModel(user_id=user["user"]["id"]).update(actions=[UserModel.status.set("suspended")])
    result = api.get("/profile", token=user["token"])
    assert result.status == 403 and result.error["code"] == "ACCOUNT_SUSPENDED"


def test_suspend_validation(api, admin):
    user = api.register()
    path = f"/admin/users/{user['user']['id']}/suspend"
    assert api.put(path, {"duration_days": 3}, token=admin["token"]).status == 400
    assert api.put(path, {"reason": "x", "duration_days": 0}, token=admin["token"]).status == 400
    assert api.put(path, {"reason": "<b>x</b>"}, token=admin["token"]).status == 400
    assert api.put(f"/admin/users/{admin['user_id']}/suspend", {"reason": "x"}, token=admin["token"]).status == 403
    assert UserModel.get(user["user"]["id"]).status == "active"


def test_notify_user_queues_a_notification(api, admin, outbox):
    from chalicelib.gateways import queues

    user = api.register()
    api.put(f"/admin/users/{user['user']['id']}/suspend", {"reason": "Chargebacks", "notify_user": True},
            token=admin["token"])
    outbox.publish()  # stored with the suspension, sent from the outbox's stream
    sqs = queues._client()
    messages = sqs.receive_message(QueueUrl=queues.queue_url(queues.NOTIFICATIONS)).get("Messages", [])
    assert len(messages) == 1 and "Chargebacks" in messages[0]["Body"]


def test_credit_posts_a_balanced_idempotent_transaction(api, admin):
    user = api.register()
    user_id = user["user"]["id"]
    headers = {"Idempotency-Key": "credit-1"}
    first = api.post(f"/admin/users/{user_id}/credits", {"amount": "25.50", "reason": "Welcome credit"},
                     token=admin["token"], headers=headers)
    assert first.status == 201
    assert first.data["amount"] == "25.50" and first.data["balance"]["balance"] == "25.50"
    retry = api.post(f"/admin/users/{user_id}/credits", {"amount": "25.50", "reason": "Welcome credit"},
                     token=admin["token"], headers=headers)
    assert retry.data["transaction_id"] == first.data["transaction_id"]
    assert AccountModel.get(user_id).balance == 255_000
    assert platform_account("platform:funding").balance == -255_000
    assert LedgerTransactionModel.count() == 1
    assert sum(e.amount for e in LedgerEntryModel.scan()) == 0

    balance = api.get("/account/balance", token=user["token"])
    assert balance.data["balance"] == "25.50" and balance.data["earnings"] == "0.00"
    statement = api.get("/billing/transactions", token=user["token"])
    assert statement.body["pagination"]["total"] == 1
    assert statement.data[0]["amount"] == "25.50" and statement.data[0]["kind"] == "admin_credit"
    assert statement.data[0]["description"] == "Welcome credit"


@pytest.mark.parametrize("amount", ["0", "-5", "1.00001", "abc", None, 10**20])
def test_credit_amount_validation(api, admin, amount):
    user = api.register()
    result = api.post(f"/admin/users/{user['user']['id']}/credits", {"amount": amount, "reason": "x"},
                      token=admin["token"], headers={"Idempotency-Key": str(uuid.uuid4())})
    assert result.status == 400 and "amount" in {d["field"] for d in result.error["details"]}
    assert LedgerTransactionModel.count() == 0


def test_non_json_numbers_are_refused(api, admin):
    user = api.register()
    result = api.post(f"/admin/users/{user['user']['id']}/credits", raw='{"amount": Infinity, "reason": "x"}',
                      token=admin["token"])
    assert result.status == 400 and result.error["code"] == "INVALID_JSON"


def test_credit_to_unknown_user_is_404(api, admin):
    result = api.post(f"/admin/users/{UNKNOWN}/credits", {"amount": "1", "reason": "x"}, token=admin["token"],
                      headers={"Idempotency-Key": "unknown-user"})
    assert result.status == 404


def test_a_credit_needs_an_idempotency_key(api, admin):
    user = api.register()
    result = api.post(f"/admin/users/{user['user']['id']}/credits", {"amount": "1.00", "reason": "x"},
                      token=admin["token"])
    assert result.status == 400 and result.error["details"][0]["field"] == "Idempotency-Key"
    assert api.get("/account/balance", token=user["token"]).data["balance"] == "0.00"


@pytest.mark.parametrize("changed", [{"amount": "2.00", "reason": "Welcome credit"},
                                     {"amount": "1.00", "reason": "Another reason"}])
def test_a_key_reused_with_another_body_is_409_and_credits_nothing_more(api, admin, changed):
    user = api.register()
    url, headers = f"/admin/users/{user['user']['id']}/credits", {"Idempotency-Key": "reused"}
    assert api.post(url, {"amount": "1.00", "reason": "Welcome credit"}, token=admin["token"],
                    headers=headers).status == 201
    reused = api.post(url, changed, token=admin["token"], headers=headers)
    assert reused.status == 409 and reused.error["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert api.get("/account/balance", token=user["token"]).data["balance"] == "1.00"


def test_billing_account_is_the_callers_own(api):
    alice, bob = api.register(), api.register("seller")
    assert api.get("/billing/account", token=alice["token"]).data["account_id"] == alice["user"]["id"]
    assert api.get("/billing/account", token=bob["token"]).data["account_id"] == bob["user"]["id"]


@pytest.mark.parametrize("key", ["k" * 256, "k" * 5000, "", "caf\u00e9", "tab\there"])
def test_an_oversized_or_odd_idempotency_key_is_a_clear_400(api, admin, key):
    user = api.register()
    result = api.post(f"/admin/users/{user['user']['id']}/credits", {"amount": "1.00", "reason": "x"},
                      token=admin["token"], headers={"Idempotency-Key": key})
    assert result.status == 400 and result.error["type"] == "VALIDATION_ERROR"
    assert result.error["message"] == "Idempotency-Key must be 1 to 255 printable ASCII characters"
    assert [d["field"] for d in result.error["details"]] == ["Idempotency-Key"]
    assert LedgerTransactionModel.count() == 0


def test_the_longest_idempotency_key_still_credits_once(api, admin):
    user = api.register()
    headers = {"Idempotency-Key": "~" * 255}
    for _ in range(2):
        result = api.post(f"/admin/users/{user['user']['id']}/credits", {"amount": "1.00", "reason": "x"},
                          token=admin["token"], headers=headers)
        assert result.status == 201
    assert LedgerTransactionModel.count() == 1


def test_the_idempotency_key_header_is_documented(api):
    document = api.get("/openapi.json").body
    params = document["paths"]["/admin/users/{user_id}/credits"]["post"]["parameters"]
    header = next(p for p in params if p["in"] == "header")
    assert header["name"] == "Idempotency-Key" and header["required"] is True
    assert header["schema"]["type"] == "string" and header["schema"]["maxLength"] == 255


def test_earnings_wait_out_the_dispute_window_before_they_are_available(api, clock):
    """A call's payout is pending for 7 days by the product's clock, computed when the balance is read."""
    buyer, seller = api.register("buyer"), api.register("seller")
    api.fund(seller)
    api.fund(buyer, "10.00")
    assert api.post("/bid-profiles", {"bid_amount": "5.00", "destination_number": "+13125552671"},
                    token=seller["token"]).status == 201
    call = api.post("/calls", {"from_number": "+14155552671", "to_number": "+12125551234", "direction": "inbound"},
                    token=buyer["token"]).data
    assert api.post(f"/calls/{call['id']}/route", token=buyer["token"]).status == 200
    for status in ("ringing", "in_progress"):
        api.call("PATCH", f"/calls/{call['id']}/status", {"status": status}, token=buyer["token"])
    assert api.post(f"/calls/{call['id']}/complete", {"duration": 90}, token=buyer["token"]).status == 200

    money = api.get("/account/balance", token=buyer["token"]).data
    assert money["earnings"] == "3.96" and money["earnings_pending"] == "3.96" and money["earnings_available"] == "0.00"
    clock.advance(days=7, seconds=1)
    login = api.post("/auth/login", {"email": buyer["email"], "password": PASSWORD})  # tokens live 15 minutes
    buyer["token"] = login.data["tokens"]["access_token"]
    money = api.get("/account/balance", token=buyer["token"]).data
    assert money["earnings_pending"] == "0.00" and money["earnings_available"] == "3.96"
