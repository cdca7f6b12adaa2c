"""Wire models of users' webhook endpoints and their delivery log."""
from datetime import datetime
from typing import Literal

from pydantic import Field

from chalicelib.domain import webhooks
from chalicelib.domain.urls import MAX_LENGTH
from chalicelib.schemas.common import ResponseModel, StrictModel


class WebhookEndpointRequest(StrictModel):
    url: str = Field(max_length=MAX_LENGTH, pattern=r"^https?://", json_schema_extra={"format": "uri"}, description=(
        "https on a public host name (no IP address, no local or private name, no user name or password); under "
        "`make run` only, http on the loopback too"))
    events: list[Literal[webhooks.SUBSCRIBABLE]] = Field(min_length=1, max_length=len(webhooks.SUBSCRIBABLE),
                                                          description="The events to send it (the realtime catalogue)")


class WebhookEndpointOut(ResponseModel):
    id: str = Field(validation_alias="endpoint_id")
    url: str
    events: list[str]
    status: Literal[webhooks.ACTIVE, webhooks.DISABLED] = Field(description=(
        "disabled: every delivery failed for WEBHOOK_RETRY_HOURS (24); register it again"))
    failing_since: datetime | None = Field(None, description="Deliveries have failed since then (null: they succeed)")
    secret: str | None = Field(None, description=(
        "Signs each delivery (X-Exchange-Signature: t=<unix>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">): shown once, "
        "when the endpoint is made"))
    created_at: datetime


class WebhookTestOut(ResponseModel):
    delivery_id: str = Field(description="Its X-Exchange-Delivery")
    event_id: str


class DeliveryAttemptOut(ResponseModel):
    at: datetime
    status_code: int | None = Field(description="The endpoint's HTTP status (null: no answer)")
    failure: str | None = Field(description="null: delivered; status (a non-2xx answer), timeout, error (no "
                                            "connection, or an answer too large) or endpoint_disabled")
    elapsed_ms: int


class DeliveryOut(ResponseModel):
    id: str = Field(validation_alias="delivery_id", description="Its X-Exchange-Delivery, the same on every attempt")
    event_type: str
    event_id: str
    status: Literal[webhooks.PENDING, webhooks.DELIVERED, webhooks.FAILED]
    attempts: list[DeliveryAttemptOut]
    next_attempt_at: datetime | None
    created_at: datetime


class DeliveryListQuery(StrictModel):
    limit: int = Field(20, ge=1, le=100)
