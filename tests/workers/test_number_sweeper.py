"""The scheduled sweeper finishes orders left pending: queueing failed after the order was placed, or
the provisioning message was dead-lettered."""
import pytest

from chalicelib.gateways import queues, twilio
from chalicelib.persistence.tables import AccountModel, NumberModel, OrderModel
from chalicelib.services.orders import NOT_PROVISIONED
from tests.api.test_numbers import buy, funded_buyer, run_provisioning, search
from tests.helpers import Api


@pytest.fixture
def api(client):
    return Api(client)


def sweep(client) -> dict:
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                            resources=[])
    return client.lambda_.invoke("sweep_number_orders", event).payload


def drop_queued_messages() -> int:
    """The provisioning messages are gone (dead-lettered, say)."""
    sqs = queues._client()
    url = queues.queue_url(queues.NUMBER_PROVISIONING)
    dropped = 0
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            dropped += 1
    return dropped


@pytest.fixture
def user(api):
    return funded_buyer(api, "10.00")


def test_an_order_whose_message_was_never_sent_is_queued_by_the_sweeper(api, client, user, clock, monkeypatch):
    number = search(api, user["token"])[0]["phone_number"]

    def sqs_down(*args, **kwargs):
        raise RuntimeError("SQS is unavailable")

    monkeypatch.setattr(queues, "send", sqs_down)
    placed = buy(api, user["token"], number)
    assert placed.status == 201 and placed.data["status"] == "PENDING"  # not a 500: the order exists
    monkeypatch.undo()
    assert run_provisioning(client) == 0  # nothing was queued

    assert sweep(client) == {"requeued": 0, "finished": 0}  # too recent to be stuck
    clock.advance(minutes=6)
    assert sweep(client) == {"requeued": 1, "finished": 0}
    assert run_provisioning(client) == 1
    order = OrderModel.get(placed.data["order_id"])
    assert order.status == "COMPLETED" and order.pending_key is None
    assert sweep(client) == {"requeued": 0, "finished": 0}  # out of the pending index
    assert AccountModel.get(user["user"]["id"]).balance == 75_000


def test_an_order_pending_past_the_limit_fails_its_items_and_releases_the_hold(api, client, user, clock,
                                                                                twilio_emulator):
    first, second = [n["phone_number"] for n in search(api, user["token"])[:2]]
    placed = buy(api, user["token"], first, second)
    assert drop_queued_messages() == 1
    assert AccountModel.get(user["user"]["id"]).held == 50_000

    clock.advance(hours=1, seconds=1)
    assert sweep(client) == {"requeued": 0, "finished": 1}
    order = OrderModel.get(placed.data["order_id"])
    assert order.status == "FAILED" and order.completed_at and order.pending_key is None
    assert [i["status"] for i in order.items] == ["FAILED", "FAILED"]
    assert {i["reason"] for i in order.items} == {NOT_PROVISIONED}
    account = AccountModel.get(user["user"]["id"])
    assert (account.balance, account.held) == (100_000, 0)
    assert twilio_emulator.owned_numbers() == []
    assert sweep(client) == {"requeued": 0, "finished": 0}


def test_a_stuck_order_whose_number_twilio_did_buy_records_it(api, client, user, clock, twilio_emulator):
    first, second = [n["phone_number"] for n in search(api, user["token"])[:2]]
    placed = buy(api, user["token"], first, second)
    drop_queued_messages()
    bought = twilio.buy(first, "Line 0", None, "POST")  # bought, then the worker's answer was lost

    clock.advance(hours=2)
    assert sweep(client) == {"requeued": 0, "finished": 1}
    order = OrderModel.get(placed.data["order_id"])
    assert order.status == "PARTIALLY_COMPLETED"
    by_number = {i["phone_number"]: i for i in order.items}
    assert by_number[first]["status"] == "SUCCESS" and by_number[second]["status"] == "FAILED"
    assert NumberModel.get(by_number[first]["number_id"]).twilio_sid == bought["sid"]
    account = AccountModel.get(user["user"]["id"])
    assert (account.balance, account.held) == (75_000, 0)  # one number charged, the other's hold released


def test_a_concurrent_writer_of_the_order_fails_the_delivery_instead_of_being_overwritten(
        api, client, user, clock, monkeypatch):
    """Items are one attribute: a delivery that read the order before someone else wrote it must not
    put back what it read. It fails (SQS delivers again) and the next delivery, reading afresh, finishes."""
    import json

    from tests.api.test_numbers import sqs_event

    first, second = [n["phone_number"] for n in search(api, user["token"])[:2]]
    placed = buy(api, user["token"], first, second)
    order_id = placed.data["order_id"]
    real_buy = twilio.buy

    def meanwhile_another_writer(phone_number, *args):
        bought = real_buy(phone_number, *args)
        if phone_number == first:
            clock.advance(seconds=1)
            OrderModel.get(order_id).update(actions=[OrderModel.updated_at.set(clock())])
        return bought

    monkeypatch.setattr(twilio, "buy", meanwhile_another_writer)
    message = {"MessageId": "m", "ReceiptHandle": "r", "Body": json.dumps({"order_id": order_id})}
    with pytest.raises(Exception):
        client.lambda_.invoke("provision_numbers", sqs_event(message))
    assert OrderModel.get(order_id).status == "PENDING"
    assert AccountModel.get(user["user"]["id"]).held == 50_000  # nothing captured by the failed write

    client.lambda_.invoke("provision_numbers", sqs_event(message))
    order = OrderModel.get(order_id)
    assert order.status == "COMPLETED" and [i["status"] for i in order.items] == ["SUCCESS", "SUCCESS"]
    account = AccountModel.get(user["user"]["id"])
    assert (account.balance, account.held) == (50_000, 0)
    assert NumberModel.count() == 2
