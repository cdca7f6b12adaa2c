"""Mail through Amazon SES: one client per process, boto3 imported by the first message.

Under `make run` and in tests SES is moto's (SES_ENDPOINT, or moto in-process); local/mailbox.py
prints what was sent so a person can follow the link."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from chalicelib.config import get_settings
from chalicelib.observability import logger


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str


@functools.cache
def _client() -> Any:
    import boto3  # noqa: PLC0415 - heavy: imported when the first mail goes out

    settings = get_settings()
    return boto3.client("ses", region_name=settings.region, endpoint_url=settings.ses_endpoint)


def send(mail: Mail) -> bool:
    """Sends; a refusal or an outage is logged and answered False, never raised: the request that mails
    (registration, a reset) has done its own work, and a mail can be asked for again."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    try:
        _client().send_email(
            Source=get_settings().mail_from,
            Destination={"ToAddresses": [mail.to]},
            Message={"Subject": {"Data": mail.subject, "Charset": "UTF-8"},
                     "Body": {"Text": {"Data": mail.text, "Charset": "UTF-8"}}})
        return True
    except (BotoCoreError, ClientError):
        logger.exception("Mail not sent", extra={"subject": mail.subject})
        return False


def verify_sender() -> None:
    """Emulated SES only (the local runtime, tests): SES sends from verified identities. In AWS the sender
    is verified once, out of band (a domain identity with DKIM)."""
    _client().verify_email_identity(EmailAddress=get_settings().mail_from)


def reset() -> None:
    """Forget the client (tests and the local runtime change endpoints)."""
    _client.cache_clear()
