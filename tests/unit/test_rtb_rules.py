"""The rules of real-time bidding and of what is sent to users' servers: the signature scheme (the README's
recipe verifies it), the URL rule with its loopback exception, and what counts as a bidder's bid."""
import hashlib
import hmac
import re
from pathlib import Path

import pytest

from chalicelib.domain import rtb, signing, webhooks
from chalicelib.domain.urls import callback_url_problem

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_verify():
    """The README's five-line verification recipe, as a receiver would paste it."""
    block = re.search(r"```python\n(# verify an X-Exchange-Signature.*?)```", README.read_text(), re.S).group(1)
    namespace: dict = {}
    exec(block, namespace)  # noqa: S102 - the documented recipe itself
    return namespace["verify"]


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body_and_the_readme_recipe_verifies_it():
    body, secret = b'{"type":"call.completed"}', "whsec_abc"
    header = signing.header(secret, body, 1_700_000_000)
    expected = hmac.new(b"whsec_abc", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert signing.verify(secret, body, header, now=1_700_000_100)
    assert not signing.verify(secret, body + b" ", header, now=1_700_000_100)
    assert not signing.verify("whsec_other", body, header, now=1_700_000_100)
    assert not signing.verify(secret, body, header, now=1_700_000_000 + 301)  # too old: a replay
    verify = readme_verify()
    assert verify(secret, body, header, now=1_700_000_100)
    assert not verify(secret, body.replace(b"completed", b"started"), header, now=1_700_000_100)


def test_users_servers_are_public_https_and_only_make_run_lets_the_loopback_in():
    assert callback_url_problem("https://hooks.example.com/x") is None
    for url in ("http://hooks.example.com/x", "https://127.0.0.1/x", "http://127.0.0.1:9000/bid", "https://localhost/"):
        assert callback_url_problem(url) is not None, url
    assert callback_url_problem("http://127.0.0.1:9000/bid", allow_loopback=True) is None
    assert callback_url_problem("http://localhost:9000/bid", allow_loopback=True) is None
    for url in ("http://10.0.0.1/bid", "http://user@127.0.0.1/bid", "ftp://127.0.0.1/", "http://169.254.169.254/"):
        assert callback_url_problem(url, allow_loopback=True) is not None, url


@pytest.mark.parametrize("status, body, outcome, price", [
    (200, b'{"bid_amount": "4.25", "destination_number": "+13125550009", "bid_id": "b-1"}', rtb.BID, 42_500),
    (200, b'{"bid_amount": 4.25}', rtb.BID, 42_500),
    (200, b'{"bid_amount": 0}', rtb.NO_BID, None),
    (200, b'{"bid_amount": "0.00"}', rtb.NO_BID, None),
    (200, b"not json", rtb.ERROR, None),
    (200, b'["bid_amount", 4]', rtb.ERROR, None),
    (200, b'{"bid_amount": "abc"}', rtb.ERROR, None),
    (200, b'{"bid_amount": -1}', rtb.ERROR, None),
    (200, b'{"bid_amount": "4.251"}', rtb.ERROR, None),
    (200, b'{"bid_amount": true}', rtb.ERROR, None),
    (200, b'{"bid_amount": "NaN"}', rtb.ERROR, None),
    (200, b'{"bid_amount": "4.00", "destination_number": "nope"}', rtb.ERROR, None),
    (500, b'{"bid_amount": "4.00"}', rtb.ERROR, None),
])
def test_what_a_bidder_answers_is_a_bid_only_when_it_is_a_positive_amount_in_cents(status, body, outcome, price):
    answer = rtb.parse_answer(status, body)
    assert (answer.outcome, answer.price) == (outcome, price)


def test_a_ping_tells_the_caller_only_to_a_profile_that_asks():
    without = rtb.ping_body("p", "c", "CA", "94103", "sales", ("solar",), None)
    assert b"caller_id" not in without and b'"zip":"94103"' in without
    assert b'"caller_id":"+14155552671"' in rtb.ping_body("p", "c", "CA", None, None, (), "+14155552671")


def test_retries_follow_the_schedule_with_up_to_a_fifth_of_jitter_and_the_last_step_repeats():
    schedule = (10, 30, 120, 600, 1800, 3600)
    assert [webhooks.retry_delay(n, schedule, draw=0) for n in range(1, 9)] == \
        [10, 30, 120, 600, 1800, 3600, 3600, 3600]
    assert webhooks.retry_delay(1, schedule, draw=1) == 12
    assert all(10 <= webhooks.retry_delay(1, schedule) <= 12 for _ in range(50))


def test_no_bid_codes_say_what_passed_the_profiles_over():
    assert rtb.reject_reason([]) == rtb.NO_MATCH
    assert rtb.reject_reason(["not_matching"]) == rtb.NO_MATCH
    assert rtb.reject_reason(["closed", "not_matching"]) == rtb.CLOSED
    assert rtb.reject_reason(["capped:daily"]) == rtb.CAPPED
    assert rtb.reject_reason(["blocked"]) == rtb.BLOCKED
    assert rtb.reject_reason(["closed", "cannot_pay"]) == rtb.NO_MATCH
