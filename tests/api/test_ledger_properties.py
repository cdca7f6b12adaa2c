"""Property: whatever sequence of postings happens, every posting sums to zero and every balance
equals the sum of its ledger entries."""
from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain.errors import Conflict, PaymentRequired
from chalicelib.domain.ledger import BALANCE, EARNINGS, HELD, admin_credit, call_settlement, hold, number_charge, \
    release, transfer
from chalicelib.persistence.ledger import audit, open_account, post
from chalicelib.persistence.tables import AccountModel, LedgerEntryModel, LedgerTotalsModel, LedgerTransactionModel

USERS = ("u1", "u2", "u3")
amounts = st.integers(min_value=1, max_value=5_000_000)
operation = st.one_of(
    st.tuples(st.just("credit"), st.sampled_from(USERS), amounts),
    st.tuples(st.just("fee"), st.sampled_from(USERS), amounts),
    st.tuples(st.just("hold"), st.sampled_from(USERS), amounts),
    st.tuples(st.just("release"), st.sampled_from(USERS), amounts),
    st.tuples(st.just("call"), st.sampled_from(USERS), st.sampled_from(USERS), amounts, amounts, st.booleans()),
    st.tuples(st.just("payout"), st.sampled_from(USERS), amounts),
)


def build(n: int, op: tuple):
    key = f"op-{n % 7}"  # keys repeat: replays must not post twice
    kind = op[0]
    if kind == "credit":
        return admin_credit(key + "c", op[1], op[2], "credit")
    if kind == "fee":
        return number_charge(key + "f", op[1], op[2], "fee", "n")
    if kind == "hold":
        return hold(key + "h", op[1], op[2], "routed", "c")
    if kind == "release":
        return release(key + "r", op[1], op[2], "not delivered", "c")
    if kind == "call":  # paid from what was held: refused whole when less is held
        _, buyer, seller, price, cost, billable = op
        return call_settlement(key + "s", buyer_id=buyer, seller_id=seller, price=price, take=price // 5,
                               cost=cost if billable else 0, billable=billable, reference="c")
    return transfer(key + "p", "payout", "payout", debit=(op[1], EARNINGS), credit=("platform:funding", BALANCE),
                    amount=op[2])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(operation, max_size=12))
def test_ledger_stays_balanced(aws, clock, operations):
    for model in (AccountModel, LedgerEntryModel, LedgerTransactionModel, LedgerTotalsModel):
        with model.batch_write() as batch:
            for item in model.scan():
                batch.delete(item)
    for user in USERS:
        open_account(user, user, credit_limit=100_000, now=clock()).save()

    for n, op in enumerate(operations):
        posting = build(n, op)
        try:
            post(posting, clock(), enforce_limits=op[0] != "fee" or n % 2 == 0)
        except (PaymentRequired, Conflict):
            pass  # refused whole (over the limit, or a key reused for another posting): nothing may have moved

    for record in LedgerTransactionModel.scan():
        assert sum(entry["amount"] for entry in record.entries) == 0
    sums: dict = defaultdict(int)
    for entry in LedgerEntryModel.scan():
        sums[(entry.account_id, entry.bucket)] += entry.amount
    assert sum(sums.values()) == 0
    for account in AccountModel.scan():
        assert account.balance == sums[(account.account_id, BALANCE)]
        assert account.earnings == sums[(account.account_id, EARNINGS)]
        assert account.held == sums[(account.account_id, HELD)] >= 0  # only what was held is ever taken
        assert account.spendable == account.balance + account.credit_limit
        if account.owner_id:
            assert account.earnings >= 0  # earnings never go below zero
    # The kept totals (what GET /admin/ledger reads) are exactly the accounts summed (what the audit reads).
    report = audit()
    assert report["differences"] == {} and report["balanced"] and report["quiet"], report
    assert report["entries"] == sum(1 for _ in LedgerEntryModel.scan())
