"""docs/api.md lists each operation's error codes, read from the code it runs (tools/error_codes.py)."""
import re

from tools import error_codes


def test_each_operation_lists_the_codes_its_code_raises():
    codes = error_codes.operation_codes()
    assert {"TCPA_VIOLATION", "DNC_BLOCKED", "CALLER_BLOCKED"} <= set(codes[("POST", "/calls")])
    assert {"NO_BIDS_AVAILABLE", "INSUFFICIENT_FUNDS", "TOO_MANY_OPEN_CALLS"} <= set(codes[("POST", "/calls/{call_id}/route")])
    assert {"INSUFFICIENT_FUNDS", "PROFILE_CLOSED", "AUCTION_CLOSED"} <= set(codes[("POST", "/bids")])
    assert "EMAIL_EXISTS" in codes[("POST", "/auth/register")]
    assert "NOT_DISPUTABLE" in codes[("POST", "/calls/{call_id}/disputes")]
    assert codes[("GET", "/config")] == []  # a route that raises nothing of its own lists nothing
    assert not set(error_codes.COMMON) & {code for listed in codes.values() for code in listed}


def test_every_code_listed_is_one_the_product_can_answer():
    source = "\n".join(path.read_text() for path in (error_codes.ROOT / "chalicelib").rglob("*.py"))
    listed = set(error_codes.COMMON) | {code for listed in error_codes.operation_codes().values() for code in listed}
    for code in listed:
        assert re.search(rf'"{code}"', source), code
