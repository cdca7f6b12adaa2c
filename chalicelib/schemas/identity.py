from __future__ import annotations

from datetime import datetime
from typing import Literal

import email_validator
from pydantic import EmailStr, Field, StrictBool, field_validator
from pydantic_core import PydanticCustomError

from chalicelib.domain.passwords import MAX_LENGTH, MIN_LENGTH, POLICY_DESCRIPTION, POLICY_PATTERN, policy_problem
from chalicelib.schemas.common import ResponseModel, SafeText, StrictModel

# Any syntactically valid address is accepted (".test" and other special-use domains included), as the
# OpenAPI "email" format promises; whether mail arrives is for verification to prove, not syntax.
email_validator.SPECIAL_USE_DOMAIN_NAMES = []

AccountType = Literal["buyer", "seller"]


class RegisterRequest(StrictModel):
    email: EmailStr = Field(max_length=254)
    password: str = Field(max_length=MAX_LENGTH, json_schema_extra={
        "format": "password", "minLength": MIN_LENGTH, "pattern": POLICY_PATTERN,
        "description": POLICY_DESCRIPTION})
    first_name: SafeText(100)
    last_name: SafeText(100)
    company: SafeText(200) | None = None
    account_type: AccountType
    accept_terms: StrictBool = Field(json_schema_extra={"const": True})

    @field_validator("email")
    @classmethod
    def _lower_email(cls, value: str) -> str:
        return value.lower()

    @field_validator("password")
    @classmethod
    def _strong_password(cls, value: str) -> str:
        problem = policy_problem(value)
        if problem:
            raise PydanticCustomError("weak_password", problem)
        return value

    @field_validator("accept_terms")
    @classmethod
    def _terms_accepted(cls, value: bool) -> bool:
        if value is not True:
            raise PydanticCustomError("terms_not_accepted", "You must accept the terms of service")
        return value


class LoginRequest(StrictModel):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=MAX_LENGTH)


class RefreshRequest(StrictModel):
    refresh_token: str = Field(min_length=1, max_length=512)


class LogoutRequest(StrictModel):
    refresh_token: str | None = Field(None, max_length=512)
    all_devices: StrictBool = False


class UserOut(ResponseModel):
    id: str = Field(validation_alias="user_id")
    email: str
    first_name: str
    last_name: str
    company: str | None
    account_type: Literal["buyer", "seller", "admin"]
    status: Literal["active", "suspended", "deactivated"]
    email_verified: bool
    created_at: datetime
    last_login_at: datetime | None


class TokensOut(ResponseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int


class AuthOut(ResponseModel):
    user: UserOut
    tokens: TokensOut


class LogoutOut(ResponseModel):
    revoked_sessions: int
