"""Users' webhook endpoints: the exchange's events POSTed, signed, to their own servers."""
from chalicelib.api.http import ANY_ACCOUNT, Api, Call, Reply
from chalicelib.schemas import models
from chalicelib.services import webhooks

schemas = models("webhook_endpoints")  # imported on first use, not at cold start

api = Api(__name__, tag="endpoints")


@api.route("/webhooks", "POST", summary="Register a webhook endpoint (its signing secret is shown once)",
           roles=ANY_ACCOUNT, body=schemas.WebhookEndpointRequest, response=schemas.WebhookEndpointOut, status=201,
           errors=(409,))
def create_endpoint(call: Call):
    return webhooks.create_endpoint(call.principal, call.body.url, call.body.events)


@api.route("/webhooks", "GET", summary="Your webhook endpoints", roles=ANY_ACCOUNT,
           response=list[schemas.WebhookEndpointOut])
def list_endpoints(call: Call):
    return webhooks.list_endpoints(call.principal)


@api.route("/webhooks/{endpoint_id}", "DELETE", summary="Remove a webhook endpoint", roles=ANY_ACCOUNT, status=204,
           errors=(404, 409))
def delete_endpoint(call: Call, endpoint_id: str):
    webhooks.delete_endpoint(call.principal, endpoint_id)
    return Reply(status=204)


@api.route("/webhooks/{endpoint_id}/test", "POST", summary="Send a webhook.test event to the endpoint",
           roles=ANY_ACCOUNT, response=schemas.WebhookTestOut, status=202, errors=(404,))
def test_endpoint(call: Call, endpoint_id: str):
    return webhooks.send_test(call.principal, endpoint_id)


@api.route("/webhooks/{endpoint_id}/deliveries", "GET", summary="The endpoint's deliveries, newest first, each "
           "attempt's status, code and time", roles=ANY_ACCOUNT, query=schemas.DeliveryListQuery,
           response=list[schemas.DeliveryOut], errors=(404,))
def list_deliveries(call: Call, endpoint_id: str):
    return webhooks.list_deliveries(call.principal, endpoint_id, call.query.limit)
