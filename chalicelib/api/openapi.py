"""OpenAPI 3.1, generated from the route registry and its pydantic models (never hand-written).

Imported only when the document is asked for (GET /openapi.json): nothing here runs at a cold start."""
from __future__ import annotations

import dataclasses
import re
from http import HTTPStatus
from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.api.examples import REQUEST_EXAMPLES, RESPONSE_EXAMPLES
from chalicelib.api.http import API_PREFIX, ROUTES, RouteSpec
from chalicelib.schemas import resolve
from chalicelib.schemas.common import ErrorEnvelope, Pagination

_REF = "#/components/schemas/{model}"
_STATUS_TEXT = {
    200: "OK", 201: "Created", 204: "No content", 400: "Invalid request", 401: "Not authenticated",
    402: "Payment required", 403: "Not allowed", 404: "Not found", 409: "Conflict",
    413: "Request body too large", 415: "Unsupported content type", 500: "Internal error",
    429: "Too many requests", 502: "The telephony provider refused", 503: "A part of the service is unavailable",
}
# What each tag groups (a route's tag is its module's, chalicelib/api/*.py). A tag missing here is still
# listed, without a description.
_TAGS = {
    "identity": "Register, log in, rotate tokens, log out; the caller's profile.",
    "billing": "The caller's money: balance, held funds, earnings, credit limit and the ledger.",
    "numbers": "Buyers' phone numbers: search the store, buy (an order bought in the background), "
               "reroute, release.",
    "exchange": "Calls, auctions, bids and bid profiles: buyers sell their calls, sellers pay for them.",
    "compliance": "Do-Not-Call list, TCPA calling hours, state restrictions, refused calls.",
    "analytics": "Totals for the caller's account.",
    "notifications": "Messages to the caller (e.g. a suspension).",
    "events": "The caller's realtime events of the last 24 hours, read back after being away (docs/realtime.md).",
    "admin": "Users, suspensions and credits (admins only).",
    "webhooks": "Twilio's calls to the exchange (signed with X-Twilio-Signature, form-encoded, answered "
                "with TwiML).",
    "rtb": "Real-time bidding: a buyer pings with a caller before it forwards the call, and gets a bid and a "
           "pool number to send it to, or no bid.",
    "endpoints": "Webhooks for your own server: the realtime events, POSTed and signed (X-Exchange-Signature).",
    "system": "Health and this document.",
}


def build_document() -> dict[str, Any]:
    routes = _routes()
    models = _models(routes)
    _, schemas = models_json_schema(
        [(m, "validation" if _is_request(m, routes) else "serialization") for m in models], ref_template=_REF)
    components = schemas.get("$defs", {})
    paths: dict[str, dict] = {}
    for spec in routes:
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec)
    tags = list(dict.fromkeys(spec.tag for spec in routes))
    return {
        "openapi": "3.1.0",
        "info": {"title": "Call exchange API", "version": "1.0.0",
                 "description": "Pay-per-call exchange with its own phone-number marketplace."},
        "servers": [{"url": API_PREFIX}],
        "tags": [{"name": tag, **({"description": _TAGS[tag]} if tag in _TAGS else {})} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def _routes() -> list[RouteSpec]:
    """The registry with every model resolved: a route may name its models lazily (chalicelib.schemas.models)."""
    return [dataclasses.replace(spec, body=resolve(spec.body), query=resolve(spec.query),
                                response=resolve(spec.response), headers=resolve(spec.headers))
            for spec in ROUTES]


def _models(routes: list[RouteSpec]) -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {"ErrorEnvelope": ErrorEnvelope, "Pagination": Pagination}
    for spec in routes:
        for model in (spec.body, spec.query, _item_model(spec.response)):
            if isinstance(model, type) and issubclass(model, BaseModel):
                found[model.__name__] = model
    return list(found.values())


def _item_model(response: Any) -> Any:
    """The model of a response, or of its items when it is list[Model]."""
    return get_args(response)[0] if get_origin(response) is list else response


def _is_request(model: type, routes: list[RouteSpec]) -> bool:
    return any(model in (spec.body, spec.query) for spec in routes)


def _ref(model: type[BaseModel]) -> dict:
    return {"$ref": _REF.format(model=model.__name__)}


def _operation(spec: RouteSpec) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": f"{spec.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', spec.path.lower()).strip('_')}",
        "summary": spec.summary,
        "tags": [spec.tag],
        "parameters": _path_parameters(spec) + _query_parameters(spec) + _header_parameters(spec),
        "responses": _responses(spec),
    }
    if spec.roles:
        op["security"] = [{"bearer": []}]
        op["x-account-types"] = sorted(spec.roles)  # who may call it (others: 403 FORBIDDEN_ACCOUNT_TYPE)
    if spec.body is not None:
        media = "application/x-www-form-urlencoded" if spec.form else "application/json"
        # A body whose every field is optional may be left out (the request then means "change nothing").
        required = any(field.is_required() for field in spec.body.model_fields.values())
        content: dict[str, Any] = {"schema": _ref(spec.body)}
        if spec.body.__name__ in REQUEST_EXAMPLES:  # every body has one: tests/api/test_openapi_examples.py
            content["example"] = REQUEST_EXAMPLES[spec.body.__name__]
        op["requestBody"] = {"required": required, "content": {media: content}}
    return op


def _path_parameters(spec: RouteSpec) -> list[dict]:
    params = []
    for name in re.findall(r"{(\w+)}", spec.path):
        schema = {"type": "string", "format": "uuid"} if name == "id" or name.endswith("_id") else {"type": "string"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def _query_parameters(spec: RouteSpec) -> list[dict]:
    if spec.query is None:
        return []
    schema = spec.query.model_json_schema(ref_template=_REF)
    required = set(schema.get("required", []))
    return [{"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in schema.get("properties", {}).items()]


def _header_parameters(spec: RouteSpec) -> list[dict]:
    if spec.headers is None:
        return []
    schema = spec.headers.model_json_schema(ref_template=_REF, by_alias=True)
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        prop.pop("default", None)
        prop.pop("title", None)
        description = prop.pop("description", None)
        if "anyOf" in prop:  # Optional[...]: a header is absent, never null
            prop = {**next(p for p in prop.pop("anyOf") if p.get("type") != "null"), **prop}
        param = {"name": name, "in": "header", "required": name in required, "schema": prop}
        if description:
            param["description"] = description
        params.append(param)
    return params


def _responses(spec: RouteSpec) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    if spec.status == 204:
        responses["204"] = {"description": _status_text(204)}
    elif spec.raw_media_type:
        schema = {"type": "string"} if _is_text(spec.raw_media_type) else {"type": "string", "format": "binary"}
        responses[str(spec.status)] = {"description": _status_text(spec.status),
                                       "content": {spec.raw_media_type: {"schema": schema}}}
    else:
        for status in (spec.status, *spec.also_status):
            content: dict[str, Any] = {"schema": _success_schema(spec)}
            example = RESPONSE_EXAMPLES.get(getattr(_item_model(spec.response), "__name__", ""))
            # An example of one answer (or of a page, with its pagination) goes with the routes that answer so.
            if example is not None and status == spec.status and ("pagination" in example) == bool(spec.paginated):
                content["example"] = example
            responses[str(status)] = {"description": _status_text(status), "content": {"application/json": content}}
    errors = {400, 413, 415, 500} | set(spec.errors)
    if spec.roles:
        errors |= {401, 403}
    for status in sorted(errors):
        responses[str(status)] = {"description": _status_text(status),
                                  "content": {"application/json": {"schema": _ref(ErrorEnvelope)}}}
    return responses


def _is_text(media_type: str) -> bool:
    return media_type.startswith("text/") or media_type.endswith("json") or media_type.endswith("xml")


def _status_text(status: int) -> str:
    """Our words for a status, or HTTP's own for one a new route brings (e.g. 202 Accepted)."""
    return _STATUS_TEXT.get(status) or HTTPStatus(status).phrase


def _success_schema(spec: RouteSpec) -> dict[str, Any]:
    model = _item_model(spec.response)
    data: dict[str, Any] = _ref(model) if isinstance(model, type) and issubclass(model, BaseModel) else {}
    if get_origin(spec.response) is list:
        data = {"type": "array", "items": data}
    properties: dict[str, Any] = {"success": {"const": True}}
    if spec.paginated:
        properties["data"] = {"type": "array", "items": data}
        properties["pagination"] = _ref(Pagination)
    else:
        properties["data"] = data
    return {"type": "object", "required": list(properties), "properties": properties}
