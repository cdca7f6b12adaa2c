"""What a cold start does not pay for: no model's validator is built and no heavy library is loaded by
`import app`; the first use builds and behaves exactly as an eager build would. And the wire models
state no fact of their own that the domain states."""
import json
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

ROOT = Path(__file__).parents[2]

# Loaded on first use only: each costs a cold start milliseconds to hundreds of milliseconds.
NOT_AT_IMPORT = ("email_validator", "argon2", "twilio", "phonenumbers.geocoder", "phonenumbers.timezone",
                 "chalicelib.api.openapi", "pydantic_settings",
                 "aws_lambda_powertools.utilities.parameters", "aws_lambda_powertools.utilities.batch")


def _in_fresh_interpreter(code: str) -> dict:
    env_code = ("import os; os.environ.setdefault('JWT_SECRET', 'test'); "
                "os.environ.setdefault('AWS_DEFAULT_REGION', 'us-east-1')\n")
    out = subprocess.run([sys.executable, "-c", env_code + code], check=True, cwd=ROOT, capture_output=True,
                         text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_importing_the_app_builds_no_model_and_loads_no_heavy_library():
    found = _in_fresh_interpreter(
        "import json, sys\n"
        "import app\n"
        "loaded = [n for n in %r if n in sys.modules]\n"
        "import chalicelib.schemas.admin, chalicelib.schemas.exchange, chalicelib.schemas.notifications\n"
        "import chalicelib.schemas.numbers, chalicelib.schemas.system\n"
        "from chalicelib.schemas.common import WireModel, _refused_class\n"
        "def every(cls):\n"
        "    for sub in cls.__subclasses__():\n"
        "        yield sub\n"
        "        yield from every(sub)\n"
        "models = set(every(WireModel))\n"
        "print(json.dumps({'models': len(models),\n"
        "                  'built': sorted(m.__name__ for m in models if m.__pydantic_complete__),\n"
        "                  'loaded': loaded, 'refused_class_built': _refused_class.cache_info().currsize}))\n"
        % (NOT_AT_IMPORT,))
    assert found["models"] > 50
    assert found["built"] == []
    assert found["loaded"] == []
    assert found["refused_class_built"] == 0  # the OpenAPI pattern's character scan waits for the document


def test_a_deferred_model_validates_on_first_use_with_the_usual_errors():
    from pydantic import ValidationError

    from chalicelib.schemas.exchange import BidProfileRequest, CriteriaOut

    with pytest.raises(ValidationError) as caught:
        BidProfileRequest.model_validate({"bid_amount": "0", "destination_number": "+1415", "role": "admin"})
    assert {(e["loc"], e["type"]) for e in caught.value.errors()} == {
        (("bid_amount",), "greater_than"), (("destination_number",), "invalid_phone_number"),
        (("role",), "extra_forbidden")}
    # A nested model's own first use, after its parent built it inline; and a default that is a model.
    assert CriteriaOut.model_validate({}).model_dump(mode="json") == {
        "geography": {"countries": [], "states": []}, "call_type": [], "keywords": [], "max_budget": None,
        "verified_only": False, "duplicate_window_hours": None}


def test_email_validator_is_imported_by_the_first_address_and_checks_as_emailstr_does():
    found = _in_fresh_interpreter(
        "import json, sys\n"
        "from pydantic import ValidationError\n"
        "from chalicelib.schemas.identity import RegisterRequest\n"
        "before = 'email_validator' in sys.modules\n"
        "base = {'password': 'Str0ng!Passw0rd', 'first_name': 'Ada', 'last_name': 'L', 'account_type': 'buyer',\n"
        "        'accept_terms': True}\n"
        "ok = RegisterRequest.model_validate({**base, 'email': 'Ada <ADA@Example.test>'}).email\n"
        "try:\n"
        "    RegisterRequest.model_validate({**base, 'email': 'ada@exa mple.com'})\n"
        "except ValidationError as exc:\n"
        "    error = exc.errors()[0]\n"
        "print(json.dumps({'before': before, 'after': 'email_validator' in sys.modules, 'ok': ok,\n"
        "                  'type': error['type'], 'msg': error['msg']}))\n")
    assert found["before"] is False and found["after"] is True
    assert found["ok"] == "ada@example.test"  # special-use domains accepted; lower-cased
    assert found["type"] == "value_error"
    # chalicelib/caller.py recognises email problems by this prefix (and never echoes the rest).
    assert found["msg"].startswith("value is not a valid email address: ")


def test_email_json_schema_is_emailstr_s():
    from chalicelib.schemas.identity import RegisterRequest

    email = RegisterRequest.model_json_schema()["properties"]["email"]
    assert email == {"format": "email", "maxLength": 254, "title": "Email", "type": "string"}


def test_wire_models_take_their_facts_from_the_domain():
    from chalicelib.domain import accounts, auctions, calls, ledger, money, numbers, phones
    from chalicelib.schemas import admin, billing, exchange, identity
    from chalicelib.schemas import numbers as number_schemas

    assert get_args(exchange.CallStatus) == calls.STATUSES
    assert get_args(exchange.CallDirection) == calls.DIRECTIONS
    for field in ("from_number", "to_number"):
        assert exchange.CreateCall.model_json_schema()["properties"][field]["pattern"] == phones.E164_PATTERN
    assert get_args(exchange.AuctionOut.model_fields["status"].annotation) == (auctions.ACTIVE, auctions.COMPLETED)
    assert tuple(auctions.SHOWN_AS[s] for s in (auctions.OPEN, auctions.CLOSED)) == (auctions.ACTIVE, auctions.COMPLETED)
    assert get_args(identity.UserOut.model_fields["account_type"].annotation) == accounts.ACCOUNT_TYPES
    assert get_args(identity.UserOut.model_fields["status"].annotation) == accounts.STATUSES
    assert set(get_args(identity.AccountType)) < set(accounts.ACCOUNT_TYPES)
    assert get_args(billing.LedgerEntryOut.model_fields["bucket"].annotation) == ledger.BUCKETS
    assert get_args(billing.BalanceOut.model_fields["currency"].annotation) == (money.CURRENCY,)
    assert set(get_args(number_schemas.NumberKind)) == set(numbers.PRICES) == set(numbers.KINDS)
    assert get_args(number_schemas.NumberRouting) == numbers.ROUTINGS
    assert admin.UserListQuery.model_json_schema()["properties"]["status"]["anyOf"][0]["enum"] == list(
        accounts.STATUSES)


def test_a_route_may_name_its_models_lazily():
    from chalicelib.schemas import Lazy, models, resolve
    from chalicelib.schemas.common import PageQuery
    from chalicelib.schemas.exchange import CallOut

    schemas = models("exchange", "common")
    call_out = schemas.CallOut
    assert resolve(schemas.PageQuery) is PageQuery  # from the first module that has it
    assert isinstance(call_out, Lazy) and call_out.__name__ == "CallOut"
    assert resolve(call_out) is CallOut and resolve(list[call_out]) == list[CallOut]
    assert resolve(CallOut) is CallOut and resolve(None) is None


def test_schema_modules_do_not_postpone_annotations():
    """With `from __future__ import annotations` pydantic evaluates every annotation string when each
    class is created: a cold-start cost for nothing."""
    for path in (ROOT / "chalicelib" / "schemas").glob("*.py"):
        assert "from __future__ import annotations" not in path.read_text().splitlines(), path.name
