"""Small helpers to call the API through chalice.test.Client as a user would."""
from __future__ import annotations

import uuid
import itertools
import json
from dataclasses import dataclass
from typing import Any

PASSWORD = "Str0ng!Passw0rd"
_emails = itertools.count(1)


@dataclass
class Result:
    status: int
    body: Any
    headers: dict

    @property
    def data(self) -> Any:
        return self.body["data"]

    @property
    def error(self) -> dict:
        return self.body["error"]


class Api:
    def __init__(self, client: Any):
        self.client = client

    def call(self, method: str, path: str, body: Any = None, token: str | None = None,
             headers: dict | None = None, raw: str | bytes | None = None) -> Result:
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
        response = self.client.http.request(method, f"/api/v1{path}", headers=sent, body=payload)
        text = response.body.decode() if isinstance(response.body, bytes) else response.body
        parsed = json.loads(text) if text else None
        return Result(response.status_code, parsed, {k.lower(): v for k, v in response.headers.items()})

    def get(self, path: str, token: str | None = None, **kw: Any) -> Result:
        return self.call("GET", path, token=token, **kw)

    def post(self, path: str, body: Any = None, token: str | None = None, **kw: Any) -> Result:
        return self.call("POST", path, body, token, **kw)

    def put(self, path: str, body: Any = None, token: str | None = None, **kw: Any) -> Result:
        return self.call("PUT", path, body, token, **kw)

    def register(self, account_type: str = "buyer", **overrides: Any) -> dict:
        body = registration(account_type, **overrides)
        result = self.post("/auth/register", body)
        assert result.status == 201, result.body
        return {**result.data, "email": body["email"], "token": result.data["tokens"]["access_token"]}

    def fund(self, user: dict, amount: str = "100.00") -> None:
        """Credit a user's balance (an admin credit, as in production)."""
        admin = self.admin()
        result = self.post(f"/admin/users/{user['user']['id']}/credits", {"amount": amount, "reason": "test funds"},
                           token=admin["token"], headers={"Idempotency-Key": str(uuid.uuid4())})
        assert result.status == 201, result.body

    def two_pages(self, path: str, token: str) -> tuple[list[str], int, str | None]:
        """A list read two items a page by next_token: the ids of both pages, the total, the second's token."""
        first = self.get(f"{path}?limit=2", token=token)
        second = self.get(f"{path}?limit=2&next_token={first.body['pagination']['next_token']}", token=token)
        return ([item["id"] for item in first.data + second.data], first.body["pagination"]["total"],
                second.body["pagination"]["next_token"])

    def admin(self) -> dict:
        from chalicelib.services.accounts import ensure_admin
        from chalicelib.services.sessions import login

        email = f"admin{next(_emails)}@example.com"
        ensure_admin(email, PASSWORD)
        issued = login(email, PASSWORD)
        return {"user_id": issued.user.user_id, "token": issued.access_token, "email": email}


def registration(account_type: str = "buyer", **overrides: Any) -> dict:
    body = {
        "email": f"user{next(_emails)}@example.com",
        "password": PASSWORD,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "company": "Analytical Engines Ltd",
        "account_type": account_type,
        "accept_terms": True,
    }
    body.update(overrides)
    return body


def error_fields(result: Result) -> set[str]:
    return {d["field"] for d in result.error["details"]}
