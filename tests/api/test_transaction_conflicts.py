"""DynamoDB cancels a transaction that meets another on the same item (TransactionConflict) and asks
for a retry. moto never does (it applies requests one at a time), so the cancellation is injected."""
import pytest
from pynamodb.connection.base import Connection
from pynamodb.exceptions import CancellationReason, TransactWriteError, VerboseClientError

from chalicelib.domain.errors import Conflict, PaymentRequired
from chalicelib.domain.ledger import admin_credit, number_charge
from chalicelib.persistence import unit_of_work
from chalicelib.persistence.ledger import get_account, open_account, post
from chalicelib.persistence.tables import LedgerEntryModel


def cancelled(*codes: str) -> TransactWriteError:
    reasons = [CancellationReason(code=code) if code else None for code in codes]
    cause = VerboseClientError({"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}},
                               "TransactWriteItems", cancellation_reasons=reasons)
    return TransactWriteError("Failed to write transaction items", cause=cause)


@pytest.fixture
def conflicts(monkeypatch, aws):
    """Makes the next N transactions fail with a conflict on their last item; counts every attempt."""
    state = {"left": 0, "attempts": 0}
    real = Connection.transact_write_items

    def transact_write_items(self, *args, **kwargs):
        state["attempts"] += 1
        if state["left"]:
            state["left"] -= 1
            raise cancelled(None, "TransactionConflict")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Connection, "transact_write_items", transact_write_items)
    monkeypatch.setattr(unit_of_work, "_sleep", lambda seconds: None)
    return state


def test_a_posting_that_meets_another_is_sent_again_and_posts_once(conflicts, clock):
    open_account("u1", "u1", 0, clock()).save()
    conflicts["left"] = 2
    post(admin_credit("credit-1", "u1", 50_000, "funds"), clock())
    assert conflicts["attempts"] == 3
    assert get_account("u1").balance == 50_000
    assert len(list(LedgerEntryModel.query("u1"))) == 1


def test_conflicts_that_do_not_end_fail_whole(conflicts, clock):
    open_account("u1", "u1", 0, clock()).save()
    conflicts["left"] = unit_of_work.CONFLICT_ATTEMPTS
    with pytest.raises(TransactWriteError):
        post(admin_credit("credit-1", "u1", 50_000, "funds"), clock())
    assert conflicts["attempts"] == unit_of_work.CONFLICT_ATTEMPTS
    assert get_account("u1").balance == 0


def test_a_failed_condition_is_not_retried(conflicts, clock):
    open_account("u1", "u1", 0, clock()).save()
    with pytest.raises(PaymentRequired):  # the credit limit (0) would be passed
        post(number_charge("fee-1", "u1", 10_000, "fee", "n"), clock())
    assert conflicts["attempts"] == 1


def test_an_idempotency_key_names_one_posting(aws, clock):
    open_account("u1", "u1", 0, clock()).save()
    first = post(admin_credit("credit-1", "u1", 50_000, "funds"), clock())
    assert post(admin_credit("credit-1", "u1", 50_000, "funds"), clock()).transaction_id == first.transaction_id
    with pytest.raises(Conflict) as refused:
        post(admin_credit("credit-1", "u1", 9_990_000, "funds"), clock())
    assert refused.value.code == "IDEMPOTENCY_KEY_REUSED"
    assert get_account("u1").balance == 50_000


def test_only_a_pure_conflict_is_retried():
    assert unit_of_work.only_conflicts(cancelled(None, "TransactionConflict"))
    assert not unit_of_work.only_conflicts(cancelled("ConditionalCheckFailed", "TransactionConflict"))
    assert not unit_of_work.only_conflicts(cancelled(None, None))
