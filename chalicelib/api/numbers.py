"""The number store: search, purchase, orders, own numbers."""
from chalicelib.api.http import BUYERS, NUMBER_SEARCH_LIMIT, PURCHASE_LIMIT, Api, Call, Reply
from chalicelib.schemas import models
from chalicelib.services import numbers, orders

schemas = models("numbers", "common")  # imported on first use, not at cold start

api = Api(__name__, tag="numbers")
TWILIO_ERRORS = (429, 502, 503)


@api.route("/numbers/search", "GET", summary="Numbers available to buy (cached 5 minutes)", roles=BUYERS,
           limit=NUMBER_SEARCH_LIMIT,
           query=schemas.NumberSearchQuery, response=list[schemas.AvailableNumberOut], errors=(409, *TWILIO_ERRORS))
def search(call: Call):
    q = call.query
    return numbers.search(q.country_code, q.type, q.area_code, q.contains, q.limit)


@api.route("/numbers/purchase", "POST",
           summary="Buy 1-10 numbers: an order (201, every result PENDING) bought in the background",
           roles=BUYERS, body=schemas.PurchaseRequest, response=schemas.OrderOut, status=201, errors=(402, 409),
           limit=PURCHASE_LIMIT)
def purchase(call: Call):
    items = [item.model_dump(mode="json", exclude_none=True) for item in call.body.numbers]
    return orders.order_view(orders.place_order(call.principal, items))


@api.route("/numbers", "GET", summary="The caller's numbers (an admin's: anyone's with ?user_id=, or everyone's)",
           roles=BUYERS, query=schemas.NumberListQuery, response=schemas.NumberOut, paginated=True, errors=(403, 404))
def list_numbers(call: Call):
    q = call.query
    return numbers.list_numbers(call.principal, q.status, q.search, q.page, q.limit, q.next_token, q.user_id)


@api.route("/numbers/{number_id}", "GET", summary="One number (owner or admin)", roles=BUYERS,
           response=schemas.NumberOut, errors=(404,))
def get_number(call: Call, number_id: str):
    return numbers.get_number(call.principal, number_id)


@api.route("/numbers/{number_id}", "PUT", summary="Rename or reroute a number (pushed to Twilio)", roles=BUYERS,
           body=schemas.NumberUpdate, response=schemas.NumberOut, errors=(404, 409, *TWILIO_ERRORS))
def update_number(call: Call, number_id: str):
    changes = call.body.model_dump(mode="json", exclude_unset=True)
    return numbers.update_number(call.principal, number_id, changes)


@api.route("/numbers/{number_id}", "DELETE", summary="Release a number at Twilio (kept as history)",
           roles=BUYERS, status=204, errors=(404, 409, *TWILIO_ERRORS))
def release_number(call: Call, number_id: str):
    numbers.release_number(call.principal, number_id)
    return Reply(status=204)


@api.route("/orders", "GET", summary="The caller's orders, newest first (an admin's: anyone's with ?user_id=, or "
           "everyone's)", roles=BUYERS, query=schemas.UserPageQuery, response=schemas.OrderOut, paginated=True,
           errors=(403, 404))
def list_orders(call: Call):
    q = call.query
    return orders.list_orders(call.principal, q.page, q.limit, q.next_token, q.user_id)


@api.route("/orders/{order_id}", "GET", summary="An order with its items and numbers", roles=BUYERS,
           response=schemas.OrderOut, errors=(404,))
def get_order(call: Call, order_id: str):
    return orders.get_order(call.principal, order_id)
