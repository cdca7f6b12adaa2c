"""Wire models of the system routes."""
from typing import Literal

from chalicelib.schemas.common import ResponseModel


class HealthOut(ResponseModel):
    status: Literal["ok"]
    stage: str
    components: dict[str, Literal["ok", "unavailable"]]


class ConfigOut(ResponseModel):
    """What a client (the web console) needs to know before it signs in."""

    websocket_url: str | None
    api_version: Literal["v1"]

