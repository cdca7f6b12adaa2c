"""The number store over the API, with the local Twilio emulator behind the real SDK (seed 000 §4.2, §5.1)."""
import uuid
import json

import pytest

from chalicelib.persistence.ledger import platform_account
from chalicelib.gateways import queues
from local import dispatcher
from chalicelib.persistence.tables import (
    AccountModel,
    LedgerTransactionModel,
    NumberModel,
    PhoneClaimModel,
    OrderModel,
    UserStatsModel,
)

UNKNOWN = "6f1c1d8e-3c7b-4b8e-9a3a-1d2e3f4a5b6c"


@pytest.fixture
def buyer(api):
    """A buyer with $100 of credit."""
    user = api.register("buyer")
    admin = api.admin()
    api.post(f"/admin/users/{user['user']['id']}/credits", {"amount": "100.00", "reason": "test funds"},
             token=admin["token"], headers={"Idempotency-Key": str(uuid.uuid4())})
    return user


def run_provisioning(client) -> int:
    """Deliver every queued provisioning message to the worker, as Lambda's SQS trigger would."""
    sqs = queues._client()
    url = queues.queue_url(queues.NUMBER_PROVISIONING)
    delivered = 0
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            client.lambda_.invoke("provision_numbers", sqs_event(message))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            delivered += 1
    return delivered


def sqs_event(message: dict) -> dict:
    return dispatcher.sqs_event([message], "arn:aws:sqs:us-east-1:000000000000:q", "us-east-1")


def search(api, token, query="area_code=415&limit=5"):
    result = api.get(f"/numbers/search?{query}", token=token)
    assert result.status == 200, result.body
    return result.data


def buy(api, token, *phone_numbers, **configuration):
    items = [{"phone_number": n, "friendly_name": f"Line {i}", **({"configuration": configuration} if configuration
                                                                   else {})}
             for i, n in enumerate(phone_numbers)]
    return api.post("/numbers/purchase", {"numbers": items}, token=token)


def test_search_prices_numbers_and_caches_twilio(api, buyer, twilio_emulator):
    found = search(api, buyer["token"])
    assert len(found) == 5
    assert all(n["phone_number"].startswith("+1415") and n["number_type"] == "local" for n in found)
    assert found[0]["setup_price"] == "1.00" and found[0]["monthly_price"] == "1.50"
    calls = twilio_emulator.request_count
    assert search(api, buyer["token"]) == found
    assert twilio_emulator.request_count == calls  # served from the cache


def test_toll_free_search(api, buyer):
    found = search(api, buyer["token"], "type=toll_free&limit=3")
    assert found and all(n["number_type"] == "toll_free" and n["monthly_price"] == "3.00" for n in found)


@pytest.mark.parametrize("query", ["country_code=XX", "country_code=us", "area_code=12", "area_code=abc",
                                   "type=premium", "limit=0", "limit=51", "contains=<script>"])
def test_search_validation(api, buyer, query):
    result = api.get(f"/numbers/search?{query}", token=buyer["token"])
    assert result.status == 400 and result.error["type"] == "VALIDATION_ERROR"


def test_sellers_cannot_use_the_number_store(api):
    seller = api.register("seller")
    assert api.get("/numbers/search", token=seller["token"]).status == 403
    assert api.get("/numbers", token=seller["token"]).status == 403


def test_purchase_provisions_charges_and_lists(api, client, buyer, twilio_emulator):
    wanted = [n["phone_number"] for n in search(api, buyer["token"])[:3]]
    placed = buy(api, buyer["token"], *wanted)
    assert placed.status == 201
    assert placed.data["status"] == "PENDING" and [i["status"] for i in placed.data["items"]] == ["PENDING"] * 3
    assert placed.data["total_price"] == "7.50"

    assert run_provisioning(client) == 1
    order = api.get(f"/orders/{placed.data['order_id']}", token=buyer["token"]).data
    assert order["status"] == "COMPLETED" and order["completed_at"]
    assert {n["phone_number"] for n in order["numbers"]} == set(wanted)
    assert {n["phone_number"] for n in twilio_emulator.owned_numbers()} == set(wanted)

    listed = api.get("/numbers", token=buyer["token"])
    assert listed.body["pagination"]["total"] == 3
    assert api.get("/account/balance", token=buyer["token"]).data["balance"] == "92.50"
    summary = api.get("/analytics/dashboard", token=buyer["token"]).data["summary"]
    assert summary == {"total_numbers": 3, "active_numbers": 3, "orders": 1, "total_calls": 0, "completed_calls": 0,
                       "spend": "7.50", "earnings": "0.00"}
    # Bought numbers are no longer offered.
    assert not set(wanted) & {n["phone_number"] for n in search(api, buyer["token"], "area_code=415&limit=8")}


def test_twilio_refusals_fail_their_item_with_the_reason(api, client, buyer):
    available = search(api, buyer["token"])[0]["phone_number"]
    placed = buy(api, buyer["token"], available, "+15005550000")  # Twilio's "not available" magic number
    run_provisioning(client)
    order = api.get(f"/orders/{placed.data['order_id']}", token=buyer["token"]).data
    assert order["status"] == "PARTIALLY_COMPLETED"
    failed = next(i for i in order["items"] if i["phone_number"] == "+15005550000")
    assert failed["status"] == "FAILED" and failed["error_code"] == 21422
    assert failed["reason"] == "Phone number is not available"
    assert api.get("/account/balance", token=buyer["token"]).data["balance"] == "97.50"  # one number charged


def test_order_fails_when_every_item_fails(api, client, buyer):
    placed = buy(api, buyer["token"], "+15005550000")
    run_provisioning(client)
    assert api.get(f"/orders/{placed.data['order_id']}", token=buyer["token"]).data["status"] == "FAILED"
    assert api.get("/account/balance", token=buyer["token"]).data["balance"] == "100.00"


def test_transient_twilio_failure_then_successful_retry(api, client, buyer, twilio_emulator):
    number = search(api, buyer["token"])[0]["phone_number"]
    placed = buy(api, buyer["token"], number)
    twilio_emulator.inject_faults(503, 20500, count=3)  # every attempt of the first delivery
    with pytest.raises(Exception):
        run_provisioning(client)  # the worker raises: SQS will deliver the message again
    assert OrderModel.get(placed.data["order_id"]).status == "PENDING"
    message = {"MessageId": "redelivery", "ReceiptHandle": "r", "Body": json.dumps({"order_id": placed.data["order_id"]})}
    client.lambda_.invoke("provision_numbers", sqs_event(message))
    assert OrderModel.get(placed.data["order_id"]).status == "COMPLETED"


def test_redelivered_message_never_buys_or_charges_twice(api, client, buyer, twilio_emulator):
    number = search(api, buyer["token"])[0]["phone_number"]
    placed = buy(api, buyer["token"], number)
    message = {"MessageId": "m-1", "ReceiptHandle": "r", "Body": json.dumps({"order_id": placed.data["order_id"]})}
    client.lambda_.invoke("provision_numbers", sqs_event(message))
    # Lost progress, then the same message again: the item is pending but Twilio already has the number.
    order = OrderModel.get(placed.data["order_id"])
    order.update(actions=[OrderModel.items.set([{**order.items[0], "status": "PENDING"}]),
                          OrderModel.status.set("PENDING")])
    client.lambda_.invoke("provision_numbers", sqs_event(message))
    assert len(twilio_emulator.owned_numbers()) == 1
    assert twilio_emulator.request_counts[("POST", "incoming_phone_numbers")] == 1
    assert NumberModel.count() == 1
    assert api.get("/account/balance", token=buyer["token"]).data["balance"] == "97.50"


@pytest.mark.parametrize("body", [
    {"numbers": []},
    {"numbers": [{"phone_number": f"+1415555{i:04d}", "friendly_name": "x"} for i in range(11)]},
    {"numbers": [{"phone_number": "+14155550100", "friendly_name": "a"},
                 {"phone_number": "+14155550100", "friendly_name": "b"}]},
    {"numbers": [{"phone_number": "4155550100", "friendly_name": "a"}]},
    {"numbers": [{"phone_number": "'; DROP TABLE numbers; --", "friendly_name": "a"}]},
    {"numbers": [{"phone_number": "+14155550100", "friendly_name": "<b>a</b>"}]},
    {"numbers": [{"phone_number": "+14155550100", "friendly_name": "a",
                  "configuration": {"voice_url": "not a url"}}]},
])
def test_purchase_validation(api, buyer, body):
    result = api.post("/numbers/purchase", body, token=buyer["token"])
    assert result.status == 400 and result.error["type"] == "VALIDATION_ERROR"
    assert OrderModel.count() == 0


def test_purchase_past_the_credit_limit_is_402_before_anything_is_bought(api, twilio_emulator):
    broke = api.register("buyer")
    number = search(api, broke["token"])[0]["phone_number"]
    result = buy(api, broke["token"], number)
    assert result.status == 402 and result.error["type"] == "PAYMENT_REQUIRED"
    assert OrderModel.count() == 0 and twilio_emulator.owned_numbers() == []


def test_numbers_held_here_cannot_be_ordered_again(api, client, buyer):
    number = search(api, buyer["token"])[0]["phone_number"]
    buy(api, buyer["token"], number)
    run_provisioning(client)
    again = buy(api, buyer["token"], number)
    assert again.status == 409 and again.error["code"] == "NUMBER_NOT_AVAILABLE"


def test_numbers_belong_to_their_owner(api, client, buyer):
    search(api, buyer["token"])
    buy(api, buyer["token"], search(api, buyer["token"])[0]["phone_number"])
    run_provisioning(client)
    number_id = api.get("/numbers", token=buyer["token"]).data[0]["id"]
    order_id = api.get("/orders", token=buyer["token"]).data[0]["order_id"]
    other = api.register("buyer")
    assert api.get(f"/numbers/{number_id}", token=other["token"]).status == 404
    assert api.call("PUT", f"/numbers/{number_id}", {"friendly_name": "mine"}, token=other["token"]).status == 404
    assert api.call("DELETE", f"/numbers/{number_id}", token=other["token"]).status == 404
    assert api.get(f"/orders/{order_id}", token=other["token"]).status == 404
    assert api.get("/numbers", token=other["token"]).body["pagination"]["total"] == 0
    admin = api.admin()
    assert api.get(f"/numbers/{number_id}", token=admin["token"]).status == 200
    assert api.get(f"/numbers/{UNKNOWN}", token=buyer["token"]).status == 404
    assert api.get("/numbers/not-a-uuid", token=buyer["token"]).error["code"] == "INVALID_UUID"


def test_list_numbers_paginates_and_filters(api, client, buyer, clock):
    wanted = [n["phone_number"] for n in search(api, buyer["token"])[:3]]
    buy(api, buyer["token"], *wanted)
    run_provisioning(client)
    first = api.get("/numbers?limit=2", token=buyer["token"])
    assert len(first.data) == 2 and first.body["pagination"]["total_pages"] == 2
    second = api.get(f"/numbers?limit=2&next_token={first.body['pagination']['next_token']}", token=buyer["token"])
    assert len(second.data) == 1
    digits = wanted[1][-4:]
    assert [n["phone_number"] for n in api.get(f"/numbers?search={digits}", token=buyer["token"]).data] == [wanted[1]]
    assert api.get("/numbers?status=released", token=buyer["token"]).body["pagination"]["total"] == 0
    active = api.get("/numbers?status=ACTIVE", token=buyer["token"])  # seed 000: uppercase
    assert active.body["pagination"]["total"] == 3 and active.data[0]["status"] == "ACTIVE"
    assert api.get("/numbers?status=active", token=buyer["token"]).body["pagination"]["total"] == 3
    assert api.get("/numbers?status=gone", token=buyer["token"]).status == 400


def test_configure_pushes_to_twilio_then_release(api, client, buyer, twilio_emulator):
    number = search(api, buyer["token"])[0]["phone_number"]
    buy(api, buyer["token"], number)
    run_provisioning(client)
    number_id = api.get("/numbers", token=buyer["token"]).data[0]["id"]

    updated = api.put(f"/numbers/{number_id}", {"friendly_name": "Sales line", "routing": "exchange",
                                                "call_type": "insurance"}, token=buyer["token"])
    assert updated.status == 200
    assert updated.data["routing"] == "exchange" and updated.data["voice_url"].endswith("/webhooks/twilio/voice")
    [owned] = twilio_emulator.owned_numbers()
    assert owned["friendly_name"] == "Sales line" and owned["voice_url"] == updated.data["voice_url"]

    custom = api.put(f"/numbers/{number_id}", {"routing": "custom", "voice_url": "https://example.com/voice",
                                               "voice_method": "GET"}, token=buyer["token"])
    assert custom.data["voice_url"] == "https://example.com/voice" and custom.data["voice_method"] == "GET"
    assert api.put(f"/numbers/{number_id}", {}, token=buyer["token"]).status == 400

    released = api.call("DELETE", f"/numbers/{number_id}", token=buyer["token"])
    assert released.status == 204
    assert twilio_emulator.owned_numbers() == []
    assert api.get(f"/numbers/{number_id}", token=buyer["token"]).data["status"] == "RELEASED"
    assert api.call("DELETE", f"/numbers/{number_id}", token=buyer["token"]).status == 409
    summary = api.get("/analytics/dashboard", token=buyer["token"]).data["summary"]
    assert summary["total_numbers"] == 1 and summary["active_numbers"] == 0


def scheduled(client, name):
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                            resources=[])
    return client.lambda_.invoke(name, event).payload


def test_monthly_fees_are_charged_once_per_period(api, client, buyer, clock):
    buy(api, buyer["token"], search(api, buyer["token"])[0]["phone_number"])
    run_provisioning(client)
    none = {"charged": 0, "suspended": 0}
    assert scheduled(client, "charge_number_fees") == none  # the first month was charged at purchase
    clock.advance(days=31)
    assert scheduled(client, "charge_number_fees") == {"charged": 1, "suspended": 0}
    assert scheduled(client, "charge_number_fees") == none
    user_id = buyer["user"]["id"]
    assert AccountModel.get(user_id).balance == (100 - 2.50 - 1.50) * 10_000
    kinds = sorted(t.kind for t in LedgerTransactionModel.scan())
    assert kinds == ["admin_credit", "hold", "number_fee", "number_fee"]  # credit, hold, purchase, one month
    assert UserStatsModel.get(user_id).spend == 40_000  # the dashboard's spend counts the monthly fee


def test_a_monthly_fee_the_balance_cannot_pay_suspends_the_number_until_it_can(api, client, clock):
    """Never a posting below the credit limit: the number is suspended instead (callers hear that it is
    unavailable), charged again each day, and back once the balance pays."""
    from chalicelib.services import live_calls

    owner = funded_buyer(api, "2.50")  # exactly the purchase: setup and the first month
    number = search(api, owner["token"])[0]["phone_number"]
    buy(api, owner["token"], number)
    run_provisioning(client)
    assert AccountModel.get(owner["user"]["id"]).balance == 0
    clock.advance(days=31)
    assert scheduled(client, "charge_number_fees") == {"charged": 0, "suspended": 1}
    assert AccountModel.get(owner["user"]["id"]).balance == 0  # not -1.50
    stored = NumberModel.get(PhoneClaimModel.get(number).number_id)
    assert stored.fee_due_since == clock() and stored.billed_through < clock().strftime("%Y-%m")
    stored.update(actions=[NumberModel.routing.set("exchange")])  # its calls go to the exchange
    answer = live_calls.incoming("CA" + "7" * 32, "+14155552671", number)
    assert live_calls.UNAVAILABLE in answer and "<Dial" not in answer
    admin = api.admin()
    api.post(f"/admin/users/{owner['user']['id']}/credits", {"amount": "5.00", "reason": "top-up"},
             token=admin["token"], headers={"Idempotency-Key": str(uuid.uuid4())})
    clock.advance(days=1)
    assert scheduled(client, "charge_number_fees") == {"charged": 1, "suspended": 0}
    assert NumberModel.get(stored.number_id).fee_due_since is None
    assert AccountModel.get(owner["user"]["id"]).balance == 35_000


def test_a_credit_limit_below_the_accounts_debt_is_409(api):
    admin = api.admin()
    user = funded_buyer(api, "1.00")
    url = f"/admin/users/{user['user']['id']}"
    assert api.put(url, {"credit_limit": "10.00"}, token=admin["token"]).status == 200
    AccountModel(account_id=user["user"]["id"]).update(actions=[AccountModel.balance.add(-60_000),
                                                                 AccountModel.spendable.add(-60_000)])  # owes 5.00
    refused = api.put(url, {"credit_limit": "4.99"}, token=admin["token"])
    assert refused.status == 409 and refused.error["code"] == "CREDIT_LIMIT_BELOW_DEBT"
    assert api.put(url, {"credit_limit": "5.00"}, token=admin["token"]).status == 200
    assert int(AccountModel.get(user["user"]["id"]).credit_limit) == 50_000


def test_two_orders_for_one_number_buy_it_once(api, client, buyer, twilio_emulator):
    """Both orders pass the check when placed; the first provisioned wins, the other item fails."""
    number = search(api, buyer["token"])[0]["phone_number"]
    rival = api.register("buyer")
    api.post(f"/admin/users/{rival['user']['id']}/credits", {"amount": "10", "reason": "x"},
             token=api.admin()["token"], headers={"Idempotency-Key": str(uuid.uuid4())})
    first = buy(api, buyer["token"], number).data["order_id"]
    second = buy(api, rival["token"], number).data["order_id"]
    run_provisioning(client)
    statuses = {OrderModel.get(first).status, OrderModel.get(second).status}
    assert statuses == {"COMPLETED", "FAILED"}
    assert twilio_emulator.request_counts[("POST", "incoming_phone_numbers")] == 1
    assert NumberModel.count() == 1


def test_a_number_type_twilio_does_not_sell_there_is_a_400(api, buyer):
    result = api.get("/numbers/search?country_code=US&type=mobile", token=buyer["token"])
    assert result.status == 400 and result.error["code"] == "NUMBER_TYPE_NOT_OFFERED"
    assert result.error["details"][0]["field"] == "type"


def funded_buyer(api, amount: str):
    user = api.register("buyer")
    api.post(f"/admin/users/{user['user']['id']}/credits", {"amount": amount, "reason": "x"},
             token=api.admin()["token"], headers={"Idempotency-Key": str(uuid.uuid4())})
    return user


def test_pending_orders_count_against_the_credit_limit(api, client, twilio_emulator):
    """$3.00 pays for one number ($2.50), not two: the first order holds its total until provisioned."""
    user = funded_buyer(api, "3.00")
    first_number, second_number = [n["phone_number"] for n in search(api, user["token"])[:2]]
    assert buy(api, user["token"], first_number).status == 201
    account = AccountModel.get(user["user"]["id"])
    assert (account.balance, account.held) == (5_000, 25_000)
    second = buy(api, user["token"], second_number)
    assert second.status == 402 and second.error["code"] == "INSUFFICIENT_FUNDS"
    assert OrderModel.count() == 1  # nothing written for the refused order
    assert api.get("/analytics/dashboard", token=user["token"]).data["summary"]["orders"] == 1
    run_provisioning(client)
    account = AccountModel.get(user["user"]["id"])
    assert (account.balance, account.held) == (5_000, 0)  # captured from the hold
    assert platform_account("platform:revenue").balance == 25_000
    assert len(twilio_emulator.owned_numbers()) == 1


def test_a_failed_items_hold_returns_to_the_balance(api, client, twilio_emulator):
    user = funded_buyer(api, "10.00")
    available = search(api, user["token"])[0]["phone_number"]
    placed = buy(api, user["token"], available, "+15005550000")  # the second is refused by Twilio
    assert AccountModel.get(user["user"]["id"]).held == 50_000
    run_provisioning(client)
    order = OrderModel.get(placed.data["order_id"])
    assert order.status == "PARTIALLY_COMPLETED"
    account = AccountModel.get(user["user"]["id"])
    assert (account.balance, account.held) == (75_000, 0)  # $10 - one number; the other's hold released
    kinds = sorted(t.kind for t in LedgerTransactionModel.scan())
    assert kinds == ["admin_credit", "hold", "number_fee", "release"]
    # Everything that left the balance is either held or charged.
    assert account.balance + account.held + platform_account("platform:revenue").balance == 100_000
    # The whole credit again: a redelivery releases nothing twice.
    order.update(actions=[OrderModel.items.set([{**i, "status": "PENDING"} if i["phone_number"] == "+15005550000"
                                                else i for i in order.items]), OrderModel.status.set("PENDING")])
    message = {"MessageId": "again", "ReceiptHandle": "r", "Body": json.dumps({"order_id": order.order_id})}
    client.lambda_.invoke("provision_numbers", sqs_event(message))
    assert AccountModel.get(user["user"]["id"]).balance == 75_000
    assert OrderModel.get(order.order_id).status == "PARTIALLY_COMPLETED"


def test_a_buy_whose_answer_was_lost_is_not_an_orphan(api, client, buyer, twilio_emulator, monkeypatch):
    """Twilio buys the number but the answer never arrives: the buy is not repeated by the gateway, the
    delivery fails (SQS redelivers), and the redelivery finds the number already owned."""
    import requests

    from chalicelib.gateways import twilio

    number = search(api, buyer["token"])[0]["phone_number"]
    placed = buy(api, buyer["token"], number)
    http = twilio.client().http_client
    real = http.request
    lost = {"count": 0}

    def lose_the_answer(method, url, *args, **kwargs):
        response = real(method, url, *args, **kwargs)  # Twilio processed it...
        if method == "POST" and url.endswith("/IncomingPhoneNumbers.json") and not lost["count"]:
            lost["count"] += 1
            raise requests.Timeout("read timed out")  # ...but the answer is lost
        return response

    monkeypatch.setattr(http, "request", lose_the_answer)
    with pytest.raises(Exception):
        run_provisioning(client)
    assert twilio_emulator.request_counts[("POST", "incoming_phone_numbers")] == 1  # not retried
    assert OrderModel.get(placed.data["order_id"]).status == "PENDING"
    message = {"MessageId": "again", "ReceiptHandle": "r", "Body": json.dumps({"order_id": placed.data["order_id"]})}
    client.lambda_.invoke("provision_numbers", sqs_event(message))
    assert OrderModel.get(placed.data["order_id"]).status == "COMPLETED"
    assert twilio_emulator.request_counts[("POST", "incoming_phone_numbers")] == 1
    [stored] = NumberModel.scan()
    assert stored.twilio_sid == twilio_emulator.owned_numbers()[0]["sid"]


def test_21422_for_a_number_the_account_already_owns_is_a_success(api, client, buyer, twilio_emulator,
                                                                   monkeypatch):
    """find_owned missed it (e.g. read before the buy landed), the buy says "not available": check again."""
    from chalicelib.gateways import twilio

    number = search(api, buyer["token"])[0]["phone_number"]
    placed = buy(api, buyer["token"], number)
    bought = twilio.buy(number, "Line 0", None, "POST")  # a lost earlier buy
    real_find = twilio.find_owned
    calls = []

    def stale_then_real(phone_number):
        calls.append(phone_number)
        return None if len(calls) == 1 else real_find(phone_number)

    monkeypatch.setattr(twilio, "find_owned", stale_then_real)
    run_provisioning(client)
    order = OrderModel.get(placed.data["order_id"])
    assert order.status == "COMPLETED" and len(calls) == 2
    assert NumberModel.get(order.items[0]["number_id"]).twilio_sid == bought["sid"]
    assert len(twilio_emulator.owned_numbers()) == 1


def test_a_voice_url_reroutes_an_exchange_number_to_it(api, client, buyer, twilio_emulator):
    number = search(api, buyer["token"])[0]["phone_number"]
    buy(api, buyer["token"], number, routing="exchange", call_type="insurance")
    run_provisioning(client)
    number_id = api.get("/numbers", token=buyer["token"]).data[0]["id"]
    assert api.get(f"/numbers/{number_id}", token=buyer["token"]).data["routing"] == "exchange"

    both = api.put(f"/numbers/{number_id}", {"routing": "exchange", "voice_url": "https://example.com/v"},
                   token=buyer["token"])
    assert both.status == 400 and both.error["details"][0]["field"] == "voice_url"
    no_url = api.put(f"/numbers/{number_id}", {"routing": "custom"}, token=buyer["token"])
    assert no_url.status == 400 and no_url.error["details"][0]["field"] == "voice_url"
    assert twilio_emulator.owned_numbers()[0]["voice_url"].endswith("/webhooks/twilio/voice")  # unchanged

    moved = api.put(f"/numbers/{number_id}", {"voice_url": "https://example.com/v"}, token=buyer["token"])
    assert moved.status == 200
    assert moved.data["routing"] == "custom" and moved.data["voice_url"] == "https://example.com/v"
    assert twilio_emulator.owned_numbers()[0]["voice_url"] == "https://example.com/v"
    # Custom with the stored URL is fine.
    assert api.put(f"/numbers/{number_id}", {"routing": "custom", "friendly_name": "x"},
                   token=buyer["token"]).status == 200


def test_a_cached_search_leaves_out_numbers_bought_since(api, client, buyer, twilio_emulator):
    found = search(api, buyer["token"])
    bought = found[0]["phone_number"]
    buy(api, buyer["token"], bought)
    run_provisioning(client)
    twilio_emulator.reset_counts()
    again = search(api, buyer["token"])  # the same query: the same cache entry
    assert twilio_emulator.request_count == 0
    assert [n["phone_number"] for n in again] == [n["phone_number"] for n in found[1:]]


def test_the_search_cache_expires_after_five_minutes(api, buyer, clock, twilio_emulator):
    search(api, buyer["token"])
    twilio_emulator.reset_counts()
    clock.advance(seconds=299)
    search(api, buyer["token"])
    assert twilio_emulator.request_count == 0  # still fresh
    clock.advance(seconds=2)
    search(api, buyer["token"])
    assert twilio_emulator.request_count == 1  # expired: asked Twilio again
    search(api, buyer["token"])
    assert twilio_emulator.request_count == 1  # and cached anew


def test_admins_manage_any_users_number_and_see_their_orders(api, client, buyer, twilio_emulator):
    number = search(api, buyer["token"])[0]["phone_number"]
    order_id = buy(api, buyer["token"], number).data["order_id"]
    run_provisioning(client)
    number_id = api.get("/numbers", token=buyer["token"]).data[0]["id"]
    admin = api.admin()

    order = api.get(f"/orders/{order_id}", token=admin["token"])
    assert order.status == 200 and order.data["status"] == "COMPLETED"
    assert [n["id"] for n in order.data["numbers"]] == [number_id]
    renamed = api.put(f"/numbers/{number_id}", {"friendly_name": "Set by admin"}, token=admin["token"])
    assert renamed.status == 200 and renamed.data["friendly_name"] == "Set by admin"
    assert twilio_emulator.owned_numbers()[0]["friendly_name"] == "Set by admin"
    assert api.call("DELETE", f"/numbers/{number_id}", token=admin["token"]).status == 204
    assert twilio_emulator.owned_numbers() == []
    mine = api.get(f"/numbers/{number_id}", token=buyer["token"]).data
    assert mine["status"] == "RELEASED" and mine["friendly_name"] == "Set by admin"
    assert api.get(f"/orders/{UNKNOWN}", token=admin["token"]).status == 404
