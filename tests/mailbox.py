"""The mail the product sent through SES (moto in-process), as a test reads it."""
from __future__ import annotations

import re


def last_mail(to: str):
    """The latest message to `to` (moto keeps every message of the session: the latest is this test's)."""
    from local.mailbox import sent_messages

    mine = [m for m in sent_messages() if to in [a for addresses in m.destinations.values() for a in addresses]]
    assert mine, f"no mail to {to}"
    return mine[-1]


def mailed_token(to: str, path: str) -> str:
    """The token of the latest link to `path` (verify-email, reset-password) mailed to `to`."""
    message = last_mail(to)
    found = re.search(rf"/{path}\?token=([A-Za-z0-9_-]+)", message.body)
    assert found, message.body
    return found.group(1)


def mail_count(to: str) -> int:
    from local.mailbox import sent_messages

    return sum(to in [a for addresses in m.destinations.values() for a in addresses] for m in sent_messages())
