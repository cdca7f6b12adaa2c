"""The provisioning queue as SQS runs it: failed deliveries come back, then go to the dead-letter queue."""
import uuid
from app import app
from chalicelib.gateways import queues
from local.dispatcher import Dispatcher
from chalicelib.persistence.tables import OrderModel
from tests.helpers import Api


def order_one_number(client) -> str:
    api = Api(client)
    buyer, admin = api.register("buyer"), api.admin()
    api.post(f"/admin/users/{buyer['user']['id']}/credits", {"amount": "10", "reason": "x"}, token=admin["token"],
             headers={"Idempotency-Key": str(uuid.uuid4())})
    number = api.get("/numbers/search?area_code=305&limit=1", token=buyer["token"]).data[0]["phone_number"]
    return api.post("/numbers/purchase", {"numbers": [{"phone_number": number, "friendly_name": "x"}]},
                    token=buyer["token"]).data["order_id"]


def test_a_message_that_keeps_failing_ends_in_the_dead_letter_queue(client, aws, twilio_emulator):
    order_id = order_one_number(client)
    twilio_emulator.inject_faults(503, 20500, count=1000)  # Twilio is down for good

    sqs = queues._client()
    url = queues.queue_url(queues.NUMBER_PROVISIONING)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    dispatcher = Dispatcher(app, sqs, lambda logical: logical, "us-east-1")
    handler = app.handler_map["provision_numbers"]
    deliveries = 0
    # VisibilityTimeout=0 stands in for waiting out the visibility timeout between deliveries.
    while messages := sqs.receive_message(QueueUrl=url, VisibilityTimeout=0).get("Messages", []):
        dispatcher.deliver(handler, "provision_numbers", messages, url, arn)
        deliveries += 1
        assert deliveries <= 10, "the message never reached the dead-letter queue"

    spec = next(s for s in queues.QUEUES if s.logical == queues.NUMBER_PROVISIONING)
    assert deliveries == spec.max_receive_count
    dlq_url = sqs.get_queue_url(QueueName=f"callx-test-{queues.NUMBER_PROVISIONING}-dlq")["QueueUrl"]
    [dead] = sqs.receive_message(QueueUrl=dlq_url).get("Messages", [])
    assert order_id in dead["Body"]
    assert OrderModel.get(order_id).status == "PENDING"
    assert twilio_emulator.owned_numbers() == []


def test_a_failed_delivery_succeeds_when_twilio_recovers(client, aws, twilio_emulator):
    order_id = order_one_number(client)
    twilio_emulator.inject_faults(429, 20429, count=3)  # one delivery's worth of retries

    sqs = queues._client()
    url = queues.queue_url(queues.NUMBER_PROVISIONING)
    dispatcher = Dispatcher(app, sqs, lambda logical: logical, "us-east-1")
    handler = app.handler_map["provision_numbers"]
    for _ in range(2):
        messages = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"]
        dispatcher.deliver(handler, "provision_numbers", messages, url, "arn:aws:sqs:us-east-1:0:q")
    assert OrderModel.get(order_id).status == "COMPLETED"
    assert sqs.receive_message(QueueUrl=url, VisibilityTimeout=0).get("Messages", []) == []  # deleted on success
