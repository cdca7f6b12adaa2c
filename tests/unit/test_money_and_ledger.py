from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.ledger import BALANCE, EARNINGS, Entry, Posting, admin_credit, transfer
from chalicelib.domain.money import format_money, to_minor


@pytest.mark.parametrize("text, minor", [("12.50", 125_000), ("0.0001", 1), ("7", 70_000), (Decimal("1.2345"), 12_345)])
def test_to_minor_is_exact(text, minor):
    assert to_minor(text) == minor


@pytest.mark.parametrize("bad", ["0.00001", "abc", "NaN", "Infinity"])
def test_to_minor_refuses_what_it_cannot_represent(bad):
    with pytest.raises(ValueError):
        to_minor(bad)


@pytest.mark.parametrize("minor, text", [(125_000, "12.50"), (1, "0.0001"), (0, "0.00"), (-15_000, "-1.50"),
                                         (12_345, "1.2345"), (10_000_000, "1000.00")])
def test_format_money_keeps_two_to_four_places(minor, text):
    assert format_money(minor) == text


@given(st.integers(min_value=-10**15, max_value=10**15))
def test_money_round_trips(minor):
    assert to_minor(format_money(minor)) == minor


def test_posting_must_balance():
    with pytest.raises(ValueError, match="balance"):
        Posting("k", "x", "x", (Entry("a", BALANCE, 5), Entry("b", BALANCE, -4)))


def test_posting_refuses_zero_float_and_duplicate_legs():
    with pytest.raises(ValueError):
        Posting("k", "x", "x", (Entry("a", BALANCE, 0), Entry("b", BALANCE, 0)))
    with pytest.raises(ValueError):
        Posting("k", "x", "x", (Entry("a", BALANCE, 1.5), Entry("b", BALANCE, -1.5)))
    with pytest.raises(ValueError, match="one leg"):
        Posting("k", "x", "x", (Entry("a", BALANCE, 1), Entry("a", BALANCE, -1)))


def test_posting_allows_many_legs_across_buckets():
    posting = Posting("k", "sale", "call", (Entry("seller", BALANCE, -100), Entry("buyer", EARNINGS, 80),
                                             Entry("platform:revenue", BALANCE, 20)))
    assert posting.net_change()[("buyer", EARNINGS)] == 80


def test_transfer_and_admin_credit_move_positive_amounts():
    posting = admin_credit("key", "user-1", 500, "welcome")
    assert [(e.account_id, e.amount) for e in posting.entries] == [("platform:funding", -500), ("user-1", 500)]
    with pytest.raises(ValueError):
        transfer("k", "x", "x", debit=("a", BALANCE), credit=("b", BALANCE), amount=-1)
