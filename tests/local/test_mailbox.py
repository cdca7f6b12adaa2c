"""`make run` prints each mail the product sends through (moto's) SES: recipient, subject and link."""
from chalicelib.gateways import mail
from local.mailbox import Mailbox


def test_each_mail_is_printed_once_with_its_recipient_subject_and_link(aws):
    printed: list[str] = []
    mailbox = Mailbox(out=printed.append)
    mailbox.poll()  # what earlier tests sent is not this test's
    printed.clear()
    assert mail.send(mail.Mail("reader@example.com", "Reset your password",
                               "Follow this link:\nhttps://app.example.com/reset-password?token=abc_123\n"))
    assert mailbox.poll() == printed == [
        "Mail to reader@example.com: Reset your password\n  link: https://app.example.com/reset-password?token=abc_123"
        '\n  (its page would POST {"token": "abc_123", "new_password": "..."} to /api/v1/auth/reset-password)']
    assert mailbox.poll() == []


def test_a_refused_mail_is_logged_not_raised(aws, monkeypatch):
    monkeypatch.setenv("MAIL_FROM", "unverified@example.com")
    from chalicelib.config import get_settings, reset_settings

    reset_settings()
    try:
        assert mail.send(mail.Mail("reader@example.com", "Hello", "text")) is False  # SES: not a verified sender
    finally:
        monkeypatch.undo()
        reset_settings()
        get_settings()
