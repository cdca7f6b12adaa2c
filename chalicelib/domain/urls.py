"""Where the product may be told to send requests (a number's voice_url, which Twilio fetches with our
account's credentials behind it): https, on a public DNS name. Refused: any IP literal (every spelling of one:
no name ends in digits), loopback, private and link-local names, and userinfo (which hides the real host from
a reader: https://trusted.example@evil.example/)."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

MAX_LENGTH = 2048
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TOP_LEVEL = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
# Names that never reach the public internet (RFC 6761, RFC 6762, RFC 8375, cloud metadata names).
_PRIVATE_SUFFIXES = ("localhost", "local", "internal", "localdomain", "home.arpa", "arpa", "intranet", "lan",
                     "corp", "home", "private", "test", "invalid", "example", "onion")


def public_url_problem(url: str) -> str | None:
    """What is wrong with `url` as a public https URL, as a sentence, or None."""
    if len(url) > MAX_LENGTH:
        return f"URL must be at most {MAX_LENGTH} characters"
    if any(ch.isspace() or ord(ch) < 0x20 or ch == "\\" for ch in url):
        return "URL must not contain spaces, control characters or backslashes"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "URL is not valid"
    if parts.scheme.lower() != "https":
        return "URL must use https"
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        return "URL must not contain a user name or password"
    host = (parts.hostname or "").rstrip(".")
    if not host:
        return "URL must name a host"
    if host.startswith("[") or ":" in host:
        return "URL must name a host, not an IP address"
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return "URL host is not a valid name"
    labels = host.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return "URL must name a public host (a fully qualified domain name)"
    if not _TOP_LEVEL.match(labels[-1]):
        return "URL must name a host, not an IP address"  # 10.0.0.1, 2130706433, 0x7f.1 ... all end in digits
    if any(host == suffix or host.endswith("." + suffix) for suffix in _PRIVATE_SUFFIXES):
        return "URL must name a public host, not a local or private one"
    if port is not None and port == 0:
        return "URL port is not valid"
    return None


_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


def callback_url_problem(url: str, allow_loopback: bool = False) -> str | None:
    """What is wrong with `url` as a user's server the exchange posts to (a webhook endpoint, an RTB
    bidder): the public https rule above; with `allow_loopback` (only `make run` sets it: settings'
    allow_loopback_callbacks), http or https on the loopback passes too, so a developer can run one locally."""
    if allow_loopback and _is_loopback(url):
        return None
    return public_url_problem(url)


def _is_loopback(url: str) -> bool:
    if len(url) > MAX_LENGTH or any(ch.isspace() or ord(ch) < 0x20 or ch == "\\" for ch in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and parts.username is None and "@" not in parts.netloc \
        and (parts.hostname or "") in _LOOPBACK_HOSTS
