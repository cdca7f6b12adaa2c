"""A URL the product will send requests to: https on a public host (domain/urls.py states the rule)."""
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from chalicelib.domain.urls import MAX_LENGTH, public_url_problem


def _public(value: str) -> str:
    problem = public_url_problem(value)
    if problem:
        raise PydanticCustomError("public_https_url", problem)
    return value


PublicHttpsUrl = Annotated[str, Field(max_length=MAX_LENGTH, pattern=r"^https://", json_schema_extra={
    "format": "uri", "description": "https, on a public host name: no IP address, no local or private name, "
                                   "no user name or password"}), AfterValidator(_public)]
