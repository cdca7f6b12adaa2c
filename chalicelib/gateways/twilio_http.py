"""An HTTP client for the `twilio` SDK that sends its requests to another base URL.

The SDK builds every URL on https://api.twilio.com (or another *.twilio.com host for other products,
regions and edges). Given to `twilio.rest.Client(sid, token, http_client=...)`, this client sends
the same requests to `base_url` instead, e.g. the local emulator in `local.twilio_emulator`,
keeping everything else of the SDK's own client: session reuse, timeouts, logging.
Imported only where Twilio is used, as `twilio` is heavy to import.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response


def redirect(url: str, base_url: str) -> str:
    """`url` on `base_url` if it is a Twilio URL (https, a twilio.com host); otherwise unchanged."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "https" or not (host == "twilio.com" or host.endswith(".twilio.com")):
        return url
    base = urlsplit(base_url)
    path = base.path.rstrip("/") + parts.path
    return urlunsplit((base.scheme, base.netloc, path, parts.query, parts.fragment))


class BaseUrlHttpClient(TwilioHttpClient):
    """`TwilioHttpClient` whose Twilio URLs are rewritten onto `base_url` (e.g. "http://127.0.0.1:8020")."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # timeout=, pool_connections=, max_retries=, proxy=, ... as the SDK's
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        return super().request(method, redirect(url, self.base_url), *args, **kwargs)
