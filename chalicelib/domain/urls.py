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
