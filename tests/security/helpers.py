"""Shared setup of the OWASP modules API1, API3, API5, API6, API9 and API10 (tests/security/conftest.py is
shared with the other modules, so these live here): a small market built over the API, the ledger's
invariants, and a client that keeps every answer it read so a test can search them all for leaks.

Import the fixtures where they are used, with those `market` needs (pytest finds fixtures by name in the
module): `from tests.security.helpers import afternoon, market, quick_password_hashing, recording_api`."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

import pytest

from tests.helpers import Api, Result

CALLER = "+14155552671"  # San Francisco, CA: the person who rings
CALLEE = "+12125552671"  # New York, NY: the buyer's number
DESTINATION = "+13125552671"  # where sellers' calls ring
UNKNOWN = "6f1c1d8e-3c7b-4b8e-9a3a-1d2e3f4a5b6c"
ROLES = ("buyer", "seller", "admin")


class RecordingApi(Api):
    """An Api that keeps the text of every answer, so a test can look for what must never be in one."""

    def __init__(self, client: Any):
        super().__init__(client)
        self.answers: list[tuple[str, str, str | None, str]] = []  # (method, path, token, body text)

    def call(self, method: str, path: str, body: Any = None, token: str | None = None,
             headers: dict | None = None, raw: str | bytes | None = None) -> Result:
        result = super().call(method, path, body, token, headers, raw)
        self.answers.append((method, path, token, json.dumps(result.body) if result.body is not None else ""))
        return result

    def texts(self, token: str | None = None) -> str:
        """Every answer read so far, or those read with this token."""
        return "\n".join(text for _, _, sent, text in self.answers if token is None or sent == token)


class Market:
    """Users, money, profiles, calls and auctions over the API, with one admin (made once: each admin is a
    password hash and a login)."""

    def __init__(self, api: Api):
        self.api = api
        self._admin: dict | None = None

    @property
    def admin(self) -> dict:
        if self._admin is None:
            self._admin = self.api.admin()
            self._admin["user"] = {"id": self._admin["user_id"]}
        return self._admin

    def user(self, account_type: str, funds: str | None = None) -> dict:
        user = self.api.register(account_type)
        if funds:
            self.fund(user, funds)
        return user

    def fund(self, user: dict, amount: str) -> None:
        """The posting an admin's credit writes (POST /admin/users/{id}/credits), without the HTTP round trip."""
        from chalicelib import clock
        from chalicelib.domain.ledger import admin_credit
        from chalicelib.domain.money import to_minor
        from chalicelib.persistence.ledger import post

        post(admin_credit(f"test-funds:{uuid.uuid4()}", user["user"]["id"], to_minor(amount), "test funds"),
             clock.now())

    def profile(self, seller: dict, bid: str | None = "5.00", destination: str = DESTINATION, **criteria: Any) -> dict:
        body = {"criteria": criteria, "bid_amount": bid, "destination_number": destination}
        result = self.api.post("/bid-profiles", body, token=seller["token"])
        assert result.status == 201, result.body
        return result.data

    def call(self, buyer: dict, **overrides: Any) -> dict:
        result = self.api.post("/calls", {"from_number": CALLER, "to_number": CALLEE, **overrides},
                               token=buyer["token"])
        assert result.status == 201, result.body
        return result.data

    def route(self, buyer: dict, call_id: str) -> Result:
        return self.api.post(f"/calls/{call_id}/route", token=buyer["token"])

    def auction(self, buyer: dict, call: dict, reserve: str = "1.00", duration: int = 60) -> dict:
        result = self.api.post("/auctions", {"call_id": call["id"], "reserve_price": reserve, "duration": duration},
                               token=buyer["token"])
        assert result.status == 201, result.body
        return result.data

    def bid(self, seller: dict, auction_id: str, amount: str) -> Result:
        return self.api.post("/bids", {"auction_id": auction_id, "amount": amount}, token=seller["token"])

    def talk(self, buyer: dict, call_id: str) -> None:
        """A routed call rings and is answered."""
        for status in ("ringing", "in_progress"):
            moved = self.api.call("PATCH", f"/calls/{call_id}/status", {"status": status}, token=buyer["token"])
            assert moved.status == 200, moved.body

    def complete(self, buyer: dict, call_id: str, duration: int = 95) -> Result:
        return self.api.post(f"/calls/{call_id}/complete", {"duration": duration}, token=buyer["token"])

    def balance(self, user: dict) -> dict:
        """A user's money as it is stored (GET /account/balance shows the same fields), whatever the state of the
        user's sessions."""
        from chalicelib.domain.money import format_money
        from chalicelib.persistence.tables import AccountModel

        account = AccountModel.get(user["user"]["id"], consistent_read=True)
        return {name: format_money(int(getattr(account, name)))
                for name in ("balance", "held", "earnings", "credit_limit")} | {
            "available": format_money(int(account.spendable))}

    def books_hold(self) -> None:
        """The invariants after any attack. Every user's `held` is exactly what its open holds set aside: the
        account's held entries, summed per call or number order they were held for, add up to `held`; none of
        those sums is negative; a routed call that has not ended holds its price from its seller and from
        nobody else, an ended call (or one back in the queue between sellers) holds nothing, and a pending
        order holds the price of each item still pending, a finished one nothing. And no user's account is
        below its credit limit. (That the books sum to zero needs no check here: a Posting cannot be made
        unbalanced, domain/ledger.py.)"""
        from chalicelib.domain import calls as lifecycle
        from chalicelib.domain import numbers as rules
        from chalicelib.domain import phones
        from chalicelib.domain.ledger import HELD
        from chalicelib.persistence.tables import (AccountModel, CallModel, LedgerEntryModel, NumberModel,
                                                   OrderModel)

        accounts = [a for a in AccountModel.scan(consistent_read=True) if a.owner_id is not None]
        below = [(a.account_id, int(a.balance), int(a.credit_limit)) for a in accounts
                 if int(a.balance) + int(a.credit_limit) < 0]
        assert below == [], f"below their credit limit (account, balance, limit): {below}"

        # What the ledger holds, per (account, what it is held for). An order's hold is captured under the
        # bought number's id: that entry counts against the number's order.
        held: dict[tuple[str, str], int] = {}
        order_of_number: dict[str, str] = {}
        for account in accounts:
            entries = list(LedgerEntryModel.query(account.account_id,
                                                  filter_condition=LedgerEntryModel.bucket == HELD,
                                                  consistent_read=True))
            for entry in entries:
                subject = entry.reference
                if entry.kind == "number_fee":
                    if subject not in order_of_number:
                        order_of_number[subject] = NumberModel.get(subject, consistent_read=True).order_id
                    subject = order_of_number[subject]
                held[(account.account_id, subject)] = held.get((account.account_id, subject), 0) + int(entry.amount)
            in_entries = sum(int(e.amount) for e in entries)
            assert int(account.held) == in_entries, \
                f"account {account.account_id}: held {int(account.held)}, its held entries sum to {in_entries}"
        negative = {key: amount for key, amount in held.items() if amount < 0}
        assert negative == {}, f"more released or captured than held, (account, held for): {negative}"


        # What should be held: open calls with a seller, pending orders' pending items.
        should: dict[tuple[str, str], int] = {}
        for call in CallModel.scan(consistent_read=True):
            if call.status not in lifecycle.ENDED and call.seller_id is not None:
                should[(call.seller_id, call.call_id)] = int(call.price)
        for order in OrderModel.scan(consistent_read=True):
            pending = sum(rules.first_charge(phones.kind_of(item["phone_number"])) for item in order.items
                          if item["status"] == rules.ITEM_PENDING)
            if pending:
                should[(order.owner_id, order.order_id)] = pending
        holding = {key: amount for key, amount in held.items() if amount}
        assert holding == should, f"held (account, held for): {holding}; open holds: {should}"


@pytest.fixture
def afternoon(clock):
    """13:00 in New York, 10:00 in San Francisco: inside the TCPA window for the calls made here."""
    clock.current = datetime(2026, 11, 2, 18, 0, tzinfo=timezone.utc)
    return clock


@pytest.fixture
def quick_password_hashing(monkeypatch):
    """argon2id at its lowest cost for the users these modules make by the dozen: what they test is who may
    do what, not the hash's cost (API2 tests the hashing). Hashes keep argon2id's format."""
    from argon2 import PasswordHasher

    from chalicelib.domain import passwords

    passwords._decoy_hash()  # cached: made at the real cost before the swap, for every later test of the process
    quick = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", lambda: quick)


@pytest.fixture
def recording_api(client):
    return RecordingApi(client)


@pytest.fixture
def market(recording_api, afternoon, quick_password_hashing):
    return Market(recording_api)
