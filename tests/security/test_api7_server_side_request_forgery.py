"""OWASP API7:2023 Server Side Request Forgery: a number's voice_url (which Twilio fetches on every call, and
the purchase configuration's) must be https on a public host. Cloud metadata, loopback, private and link-local
addresses and names, IP literals in any spelling, userinfo tricks and plain http are refused with 400 before
anything reaches Twilio."""
from __future__ import annotations

import pytest

from chalicelib.domain.urls import public_url_problem
from tests.helpers import error_fields

UNKNOWN_NUMBER = "00000000-0000-4000-8000-000000000000"

REFUSED = [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "https://169.254.169.254/latest/meta-data/",
    "http://localhost/voice",
    "https://localhost/voice",
    "https://app.localhost/voice",
    "https://printer.local/voice",
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://10.0.0.5/voice",
    "https://192.168.1.1/voice",
    "https://172.16.0.1/voice",
    "https://127.0.0.1:8000/api/v1/admin/users",
    "https://2130706433/voice",  # 127.0.0.1 as one number
    "https://0x7f.0x0.0x0.0x1/voice",
    "https://017700000001/voice",
    "https://[::1]/voice",
    "https://[fd00::1]/voice",
    "https://[::ffff:169.254.169.254]/voice",
    "https://user:secret@example.com/voice",
    "https://example.com@169.254.169.254/voice",
    "http://example.com/voice",  # plain http
    "ftp://example.com/voice",
    "file:///etc/passwd",
    "gopher://example.com:25/",
    "https:///voice",
    "https://exa mple.com/voice",
    "https://example.com\\@evil.com/",
]


@pytest.mark.parametrize("url", REFUSED)
def test_the_rule_refuses(url):
    assert public_url_problem(url) is not None


@pytest.mark.parametrize("url", ["https://example.com/voice", "https://api.example.org:8443/twiml?x=1",
                                 "https://voice.bücher.de/v", "https://hooks.example.co.uk/a/b"])
def test_the_rule_accepts_public_https_urls(url):
    assert public_url_problem(url) is None


@pytest.fixture
def buyer(api):
    return api.register("buyer")


@pytest.mark.parametrize("url", REFUSED[:10] + REFUSED[17:20])
def test_a_number_cannot_be_pointed_at_an_internal_url(api, buyer, url):
    result = api.put(f"/numbers/{UNKNOWN_NUMBER}", {"voice_url": url}, token=buyer["token"])
    assert result.status == 400 and error_fields(result) == {"voice_url"}
    assert "169.254" not in result.error["message"] and "localhost" not in result.error["message"]


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "https://localhost:8000/voice",
                                 "https://user@example.com/"])
def test_a_purchase_configuration_cannot_either(api, buyer, url, twilio_emulator):
    body = {"numbers": [{"phone_number": "+14155550100", "friendly_name": "Main",
                         "configuration": {"routing": "custom", "voice_url": url}}]}
    result = api.post("/numbers/purchase", body, token=buyer["token"])
    assert result.status == 400 and error_fields(result) == {"numbers.0.configuration.voice_url"}
    assert twilio_emulator.owned_numbers() == []
