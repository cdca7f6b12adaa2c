"""Wire models of the system routes."""
from typing import Literal

from chalicelib.schemas.common import ResponseModel


class HealthOut(ResponseModel):
    status: Literal["ok"]
    stage: str
    components: dict[str, Literal["ok", "unavailable"]]
