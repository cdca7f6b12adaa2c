"""`make run`'s mailbox: what the product sent through (moto's) SES, printed to the console as it goes out
(recipient, subject, link), so a person can follow a verification or reset link. moto's server runs in
the runtime's process, so its SES backend is read directly, the messages a test reads through moto's API."""
from __future__ import annotations

import re
import threading
from typing import Callable

_LINK = re.compile(r"https?://\S+")


def sent_messages() -> list:
    """Every message moto's SES has accepted, in every account and region, oldest first per region."""
    from moto.ses.models import ses_backends  # noqa: PLC0415

    found = []
    for account in list(ses_backends.values()):
        for backend in list(account.values()):
            found.extend(list(backend.sent_messages))
    return found


_ACTION = re.compile(r"/(verify-email|reset-password)\?token=([A-Za-z0-9_-]+)")


def describe(message) -> str:
    """Recipient and subject; the link (a page of the console, at the runtime's own address), and the API call that
    page makes, for a person following it with curl."""
    recipients = ", ".join(address for addresses in (message.destinations or {}).values() for address in addresses)
    link = _LINK.search(getattr(message, "body", "") or "")
    text = f"Mail to {recipients}: {message.subject}" + (f"\n  link: {link.group(0)}" if link else "")
    action = _ACTION.search(link.group(0)) if link else None
    if action:
        page, token = action.groups()
        body = f'{{"token": "{token}"}}' if page == "verify-email" else f'{{"token": "{token}", "new_password": "..."}}'
        text += f"\n  (its page would POST {body} to /api/v1/auth/{page})"
    return text


class Mailbox:
    """Prints each new message once, every `interval` seconds, until stopped."""

    def __init__(self, out: Callable[[str], None] = lambda line: print(line, flush=True), interval: float = 0.5):
        self._out, self._interval = out, interval
        self._seen: set[str] = set()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mailbox", daemon=True)

    def start(self) -> "Mailbox":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    def poll(self) -> list[str]:
        printed = []
        for message in sent_messages():
            if message.id in self._seen:
                continue
            self._seen.add(message.id)
            printed.append(describe(message))
            self._out(printed[-1])
        return printed

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            self.poll()
