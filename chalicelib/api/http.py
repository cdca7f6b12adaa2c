"""The way every route is declared: who may call it, what it reads, what it answers.

A route handler receives a parsed, authorised `Call` and returns data (or `Reply`); this module turns
that into the success envelope and every error into the error envelope (README.md: every answer). It is also the
registry the OpenAPI document is generated from.
"""
from __future__ import annotations

import functools
import json
import re
import uuid
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, get_args, get_origin

from chalice import Blueprint, Response

from chalicelib.caller import Principal, error_body, validate
from chalicelib.config import get_settings
from chalicelib.domain import accounts, limits
from chalicelib.domain.errors import (
    AuthenticationFailed,
    DomainError,
    FieldProblem,
    Forbidden,
    NotAcceptable,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from chalicelib.domain.money import ExponentNumber
from chalicelib.headers import REQUEST_ID, SECURITY_HEADERS
from chalicelib.observability import logger
from chalicelib.persistence.db import configure
from chalicelib.persistence.pagination import Page
from chalicelib.schemas import resolve
from chalicelib.services import rate_limits
from chalicelib.services.sessions import authenticate

if TYPE_CHECKING:
    from pydantic import BaseModel

API_PREFIX = "/api/v1"
PUBLIC: frozenset[str] = frozenset()
ANY_ACCOUNT = frozenset(accounts.ACCOUNT_TYPES)
ADMIN = frozenset({accounts.ADMIN})
BUYERS = frozenset({accounts.BUYER, accounts.ADMIN})
SELLERS = frozenset({accounts.SELLER, accounts.ADMIN})
SELLERS_ONLY = frozenset({accounts.SELLER})  # bidding is a seller's own act
BUYERS_ONLY = frozenset({accounts.BUYER})  # only a buyer earns, and withdraws what it earned

# Rate limits a route may declare (domain/limits.py): every authenticated route counts against its user's
# limit unless it names a narrower one; the unauthenticated identity routes count per client IP (AUTH).
USER_LIMIT, AUTH_LIMIT = limits.USER, limits.AUTH
NUMBER_SEARCH_LIMIT, PURCHASE_LIMIT = limits.NUMBER_SEARCH, limits.PURCHASE
RTB_PINGS_LIMIT = limits.RTB_PINGS
_BY_ROLE = object()  # USER_LIMIT for authenticated routes, none for the others (webhooks, health)


@dataclass(frozen=True)
class RouteSpec:
    path: str
    method: str
    summary: str
    tag: str
    roles: frozenset[str]
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: Any  # a pydantic model (or list[...] for paginated lists), None for no body
    status: int
    paginated: bool
    form: bool  # Twilio webhooks post application/x-www-form-urlencoded
    errors: tuple[int, ...]
    raw_media_type: str | None  # answers that are not the JSON envelope (TwiML, the OpenAPI document)
    headers: type[BaseModel] | None = None  # request headers the route reads: fields aliased to header names
    # A webhook's sender check: (the public URL it called, every posted form parameter, X-Twilio-Signature),
    # before the body is validated; raises to refuse.
    signed_by: Callable[[str, dict, str | None], None] | None = None
    # Other success statuses a handler may answer with (Reply(status=...)), with the same response body.
    also_status: tuple[int, ...] = ()
    limit: str | None = None  # the rate limit the route counts against (domain/limits.py), or none


ROUTES: list[RouteSpec] = []


@dataclass
class Call:
    """What a handler gets: the caller, the validated body/query and the raw request."""

    principal: Principal | None
    body: Any
    query: Any
    request: Any
    request_id: str
    headers: Any = None  # the validated `headers` model, when the route declares one

    def header(self, name: str) -> str | None:
        return self.request.headers.get(name)

    @property
    def client_ip(self) -> str | None:
        return client_ip(self.request)

    def ensure_accepts(self, media_type: str) -> None:
        """406 unless the Accept header takes `media_type` (or */*): a binary answer goes out only to a client
        that asked for it, as Chalice and API Gateway require (else they refuse, or send base64 text)."""
        accepted = {part.strip().lower() for part in re.split("[,;]", self.header("accept") or "")}
        if not accepted & {"*/*", media_type}:
            raise NotAcceptable(f"This answer is {media_type}: send Accept: {media_type}")


def client_ip(request: Any) -> str | None:
    """API Gateway's sourceIp: the address that connected. Never a header a client can set (X-Forwarded-For)."""
    context = getattr(request, "context", None) or {}
    return (context.get("identity") or {}).get("sourceIp") or None


@dataclass
class Reply:
    data: Any = None
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    raw_body: str | bytes | None = None  # for non-JSON answers (TwiML; audio: bytes of a binary media type)


class Api:
    """A Chalice Blueprint whose routes are declared with `route()`."""

    def __init__(self, import_name: str, tag: str):
        self.blueprint = Blueprint(import_name)
        self.tag = tag

    def route(self, path: str, method: str, *, summary: str, roles: Iterable[str] = ANY_ACCOUNT,
              body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
              response: Any = None, status: int = 200, paginated: bool = False, form: bool = False,
              errors: Iterable[int] = (), raw_media_type: str | None = None,
              headers: type[BaseModel] | None = None,
              signed_by: Callable[[str, dict, str | None], None] | None = None,
              also_status: Iterable[int] = (), limit: Any = _BY_ROLE) -> Callable:
        roles = frozenset(roles)
        if limit is _BY_ROLE:
            limit = USER_LIMIT if roles else None
        if limit is not None:
            errors = (*errors, 429)
        spec = RouteSpec(path, method, summary, self.tag, roles, body, query, response,
                         status, paginated, form, tuple(dict.fromkeys(errors)), raw_media_type, headers, signed_by,
                         tuple(also_status), limit)
        ROUTES.append(spec)

        def decorator(handler: Callable) -> Callable:
            @functools.wraps(handler)
            def view(**path_params: str) -> Response:
                return _serve(self.blueprint.current_request, spec, handler, path_params)

            # Content types are checked in _serve so a wrong one gets our envelope, not Chalice's. HEAD is
            # a GET without its body (envelope_chalice_errors drops it): same handler, roles and headers. It
            # is not an operation of its own in the OpenAPI document (HTTP defines it by GET's).
            methods = [method, "HEAD"] if method == "GET" else [method]
            self.blueprint.route(path, methods=methods, content_types=["*/*"])(view)
            return handler

        return decorator


def _serve(request: Any, spec: RouteSpec, handler: Callable, path_params: dict[str, str]) -> Response:
    request_id = _request_id(request)
    logger.append_keys(request_id=request_id, route=f"{spec.method} {spec.path}")
    try:
        return _answer(request, spec, handler, path_params, request_id)
    finally:
        logger.remove_keys(["request_id", "route"])  # a warm Lambda serves other events next


def _answer(request: Any, spec: RouteSpec, handler: Callable, path_params: dict[str, str], request_id: str) -> Response:
    quota: dict[str, str] = {}  # the X-RateLimit-* headers, once the request is counted
    try:
        configure()
        if spec.limit == AUTH_LIMIT:  # counted before any work: the body is not even parsed over the limit
            quota.update(rate_limits.check(AUTH_LIMIT, rate_limits.subject_of_ip(client_ip(request))).headers())
        principal = _authorise(request, spec)
        if principal is not None and spec.limit not in (None, AUTH_LIMIT):
            quota.update(rate_limits.check(spec.limit, principal.user_id).headers())
        for name, value in path_params.items():
            _check_path_param(name, value)
        if spec.signed_by is not None:
            spec.signed_by(_public_url(request), _form_params(request), request.headers.get("x-twilio-signature"))
        call = Call(principal, _parse_body(request, spec), _parse_query(request, spec), request, request_id,
                    _parse_headers(request, spec))
        result = handler(call, **path_params)
        return _success(spec, result, request_id, quota)
    except DomainError as error:
        return error_response(error, request_id, quota)
    except Exception:
        logger.exception("Unhandled error")
        return error_response(DomainError("An internal error occurred"), request_id, quota)


def envelope_chalice_errors(event: Any, get_response: Callable) -> Response:
    """HTTP middleware: the few errors Chalice answers itself (e.g. 405 for a method a path does not
    have) get our envelope too, with the security headers and the request id; and a HEAD answer has no body
    (one would be read as the start of the next answer on a kept-alive connection)."""
    response = get_response(event)
    if response.status_code >= 400 and isinstance(response.body, dict) and "Code" in response.body:
        error = ValidationFailed(str(response.body.get("Message", "Request not allowed")),
                                 code=_CHALICE_CODES.get(response.body["Code"], "BAD_REQUEST"))
        error.status = response.status_code
        if response.status_code >= 500:
            error = DomainError("An internal error occurred")
        request_id = _request_id(event)
        body = error_body(error, request_id)
        response = Response(body=json.dumps(body), status_code=error.status,
                            headers={**response.headers, **SECURITY_HEADERS, REQUEST_ID: request_id,
                                     "Content-Type": "application/json"})
    if (getattr(event, "method", "") or "").upper() == "HEAD":  # GET's answer, its length, no body
        if isinstance(response.body, (str, bytes)):
            body = response.body.encode() if isinstance(response.body, str) else response.body
            response.headers["Content-Length"] = str(len(body))
        response.body = ""
    return response


_CHALICE_CODES = {"MethodNotAllowedError": "METHOD_NOT_ALLOWED", "UnsupportedMediaType": "UNSUPPORTED_MEDIA_TYPE",
                  "BadRequestError": "BAD_REQUEST", "NotFoundError": "NOT_FOUND"}


def _request_id(request: Any) -> str:
    context = getattr(request, "context", None) or {}
    return str(context.get("requestId") or uuid.uuid4())


def _authorise(request: Any, spec: RouteSpec) -> Principal | None:
    if not spec.roles:
        return None
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("Authentication required", code="MISSING_TOKEN")
    principal = authenticate(token.strip())
    if principal.account_type not in spec.roles:
        raise Forbidden("Your account type may not do this", code="FORBIDDEN_ACCOUNT_TYPE")
    return principal


def _public_url(request: Any) -> str:
    """The URL the sender called, from our public base URL (behind API Gateway the Lambda event does not
    say it: the stage, the custom domain), this route's path and the query."""
    query = request.query_params or {}
    return f"{get_settings().public_base_url}{request.path}" + (f"?{urlencode(dict(query))}" if query else "")


def _form_params(request: Any) -> dict[str, str]:
    raw = request.raw_body or b""
    return dict(parse_qsl(raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw, keep_blank_values=True))


# Ids that a provider makes, not we: checked by their own form.
_PROVIDER_IDS = {"payment_method_id": (re.compile(r"pm_[A-Za-z0-9_]{1,100}"), "a Stripe PaymentMethod id (pm_…)")}


def _check_path_param(name: str, value: str) -> None:
    if name in _PROVIDER_IDS:
        pattern, described = _PROVIDER_IDS[name]
        if not pattern.fullmatch(value):
            raise ValidationFailed(f"Invalid id: expected {described}", code="INVALID_ID",
                                   details=[FieldProblem(name, "INVALID_ID", f"Must be {described}")])
        return
    if name == "id" or name.endswith("_id"):
        try:
            uuid.UUID(value)
        except ValueError:
            raise ValidationFailed("Invalid id: expected a UUID", code="INVALID_UUID",
                                   details=[FieldProblem(name, "INVALID_UUID", "Must be a UUID")]) from None


def _parse_body(request: Any, spec: RouteSpec) -> Any:
    raw = request.raw_body or b""
    if len(raw) > get_settings().max_body_bytes:
        raise PayloadTooLarge("Request body is too large")
    if spec.body is None:
        _refuse_unexpected_body(raw)
        return None
    if not raw:
        return validate(spec.body, {})  # no body: each required field is reported missing
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if spec.form:
        if content_type != "application/x-www-form-urlencoded":
            raise UnsupportedMediaType("Content-Type must be application/x-www-form-urlencoded")
        data: Any = _form_params(request)
    else:
        if content_type != "application/json":
            raise UnsupportedMediaType("Content-Type must be application/json")
        try:
            # Decimal, never binary floats, for numbers; NaN/Infinity are not JSON.
            data = json.loads(raw, parse_float=_json_number, parse_constant=_refuse_constant)
        except (ValueError, UnicodeDecodeError, RecursionError):
            # RecursionError: nesting too deep for the parser (e.g. 20,000 "[") is not JSON we accept.
            raise ValidationFailed("Request body is not valid JSON", code="INVALID_JSON") from None
        if not isinstance(data, dict):
            raise ValidationFailed("Request body must be a JSON object", code="INVALID_BODY")
    return validate(spec.body, data, where="body")


def _refuse_unexpected_body(raw: bytes) -> None:
    """A route that reads no body refuses one with content, so nobody believes `{"role": "admin"}` was
    applied. Nothing, whitespace, `{}` and `null` are no body."""
    text = raw.decode("utf-8", "replace").strip() if isinstance(raw, bytes) else str(raw).strip()
    if text in ("", "{}", "null") or re.fullmatch(r"\{\s*\}", text):
        return
    raise ValidationFailed("This request takes no body", code="UNEXPECTED_BODY",
                           details=[FieldProblem("body", "UNEXPECTED_BODY", "This request takes no body")])


def _json_number(literal: str) -> Decimal:
    """A JSON number with a fraction or an exponent, exact; one with an exponent is marked so that money
    fields can refuse a form they do not document (1e2 is 100, but nobody documented it so)."""
    return ExponentNumber(literal) if "e" in literal or "E" in literal else Decimal(literal)


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _parse_query(request: Any, spec: RouteSpec) -> Any:
    params = dict(request.query_params or {})
    if spec.query is None:
        if params:  # the names are not echoed: they are whatever the caller typed
            raise ValidationFailed("This request takes no query parameters", code="UNKNOWN_QUERY_PARAMETER",
                                   details=[FieldProblem("query", "UNKNOWN_QUERY_PARAMETER",
                                                         "This request takes no query parameters")])
        return None
    return validate(spec.query, params, where="query")


def _parse_headers(request: Any, spec: RouteSpec) -> Any:
    """The declared headers only (by their aliases, e.g. Idempotency-Key); any others are none of ours."""
    if spec.headers is None:
        return None
    model = resolve(spec.headers)
    names = [info.alias or name for name, info in model.model_fields.items()]
    sent = {name: request.headers.get(name) for name in names if request.headers.get(name) is not None}
    return validate(model, sent, where="header")


def _success(spec: RouteSpec, result: Any, request_id: str, quota: dict[str, str] | None = None) -> Response:
    reply = result if isinstance(result, Reply) else Reply(result)
    status = reply.status or spec.status
    headers = {**SECURITY_HEADERS, REQUEST_ID: request_id, **(quota or {}), **reply.headers}
    if reply.raw_body is not None:
        return Response(body=reply.raw_body, status_code=status, headers=headers)
    if status == 204:
        return Response(body="", status_code=204, headers=headers)
    body: dict[str, Any] = {"success": True}
    if isinstance(reply.data, Page):
        body["data"] = [_dump(resolve(spec.response), item) for item in reply.data.items]
        body["pagination"] = reply.data.pagination()
    else:
        body["data"] = _dump(resolve(spec.response), reply.data)
    return Response(body=json.dumps(body), status_code=status,
                    headers={**headers, "Content-Type": "application/json"})


def _dump(model: Any, data: Any) -> Any:
    from pydantic import BaseModel  # noqa: PLC0415

    if get_origin(model) is list:
        return [_dump(get_args(model)[0], item) for item in data]
    if model is None or not isinstance(model, type) or not issubclass(model, BaseModel):
        return data
    return model.model_validate(data).model_dump(mode="json")


def error_response(error: DomainError, request_id: str, quota: dict[str, str] | None = None) -> Response:
    """The one place a domain error becomes HTTP."""
    body = error_body(error, request_id)
    headers = {**SECURITY_HEADERS, REQUEST_ID: request_id, **(quota or {}), "Content-Type": "application/json"}
    if error.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    headers.update(error.headers)
    return Response(body=json.dumps(body), status_code=error.status, headers=headers)
