from datetime import datetime, timezone

import pytest

from chalicelib.domain import numbers as rules
from chalicelib.domain import phones


@pytest.mark.parametrize("value", ["+14155550123x", "14155550123", "+1415555012", "+0123456789", "", "+1 415 555 0123",
                                   "'; DROP TABLE calls; --", "<script>alert(1)</script>", "+19999999999"])
def test_only_valid_e164_numbers_pass(value):
    assert not phones.is_e164(value)


@pytest.mark.parametrize("value", ["+1٤١٥٥٥٥٢٦٧١", "+１４１５５５５２６７１", "+1۴۱۵۵۵۵۲۶۷۱", "+1४१५५५५२६७१", "+1415555267١",
                                   "＋14155552671", "+14155552671\n", 14155552671, None])
def test_only_ascii_digits_make_a_number(value):
    """phonenumbers reads any script's digits as ASCII ones: the pattern must not let them through."""
    assert phones.canonical_e164(value) is None and not phones.is_e164(value)


@pytest.mark.parametrize("value, canonical", [("+14155552671", "+14155552671"), ("+4402071234567", "+442071234567"),
                                              ("+610412345678", "+61412345678"), ("+390612345678", "+390612345678")])
def test_a_number_has_one_spelling(value, canonical):
    assert phones.canonical_e164(value) == canonical == phones.canonical_e164(canonical)


def test_facts_from_the_number():
    assert phones.is_e164("+14155552671")
    assert phones.country_of("+16045551234") == "CA"
    assert phones.state_of("+14155552671") == "CA"
    assert phones.state_of("+12125552671") == "NY"
    assert phones.kind_of("+18005550199") == "toll_free"
    assert phones.kind_of("+14155552671") == "local"
    assert phones.kind_of("+447911123456") == "mobile"
    assert phones.locality_of("+14155552671") == "San Francisco"


def test_first_charge_is_setup_plus_a_month():
    assert rules.first_charge("local") == 25_000
    assert rules.first_charge("toll_free") == 40_000


@pytest.mark.parametrize("statuses, order", [
    (["SUCCESS", "SUCCESS"], "COMPLETED"),
    (["SUCCESS", "FAILED"], "PARTIALLY_COMPLETED"),
    (["FAILED", "FAILED"], "FAILED"),
    (["SUCCESS", "PENDING"], "PENDING"),
])
def test_order_status_from_its_items(statuses, order):
    assert rules.order_status(statuses) == order


def test_billing_period_and_voice_target():
    assert rules.billing_period(datetime(2026, 1, 31, 23, 59, tzinfo=timezone.utc)) == "2026-01"
    assert rules.voice_target("exchange", "https://x.example/v", "https://api.example.com") == \
        "https://api.example.com/api/v1/webhooks/twilio/voice"
    assert rules.voice_target("custom", "https://x.example/v", "https://api.example.com") == "https://x.example/v"


@pytest.mark.parametrize("reported, shown", [
    ({"voice": True, "SMS": True, "MMS": True, "fax": False}, {"voice": True, "sms": True, "mms": True}),  # available
    ({"voice": True, "sms": True, "mms": False, "fax": False}, {"voice": True, "sms": True, "mms": False}),  # owned
    ({"voice": True}, {"voice": True, "sms": False, "mms": False}),
    (None, {"voice": False, "sms": False, "mms": False}),
    ({"voice": "yes", "SMS": 1}, {"voice": False, "sms": False, "mms": False}),  # only true is true
])
def test_search_results_show_twilios_capabilities_as_voice_sms_mms(reported, shown):
    assert rules.capabilities_of(reported) == shown
