"""Double-entry postings as plain values. Storage is persistence/ledger.py."""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.calls import telephony_split

BALANCE = "balance"  # prepaid funds, spent on numbers and minutes
EARNINGS = "earnings"  # payouts accrued
# Funds set aside from the balance for something bought but not yet delivered (a number being
# provisioned, a routed call): captured when it is delivered, released back to the balance if not.
# Holding is what makes the credit limit count everything already promised.
HELD = "held"
BUCKETS = (BALANCE, EARNINGS, HELD)

# Platform accounts: the other side of money entering or leaving the users' accounts.
PLATFORM_FUNDING = "platform:funding"  # credits granted by admins / top-ups
PLATFORM_REVENUE = "platform:revenue"  # fees and take rate
PLATFORM_TELEPHONY = "platform:telephony"  # carrier cost passed through
# What the carrier charged for a live call's minutes that its buyer's balance and credit limit could not pay.
PLATFORM_TELEPHONY_LOSS = "platform:telephony_loss"
# What Stripe charged for card payments and chargebacks: the platform's expense, never the user's.
PLATFORM_PAYMENT_FEES = "platform:payment_fees"
# Earnings withdrawn: sent by Stripe transfers to the users' connected accounts (given back if a transfer fails).
PLATFORM_PAYOUTS = "platform:payouts"
PLATFORM_ACCOUNTS = (PLATFORM_FUNDING, PLATFORM_REVENUE, PLATFORM_TELEPHONY, PLATFORM_TELEPHONY_LOSS,
                     PLATFORM_PAYMENT_FEES, PLATFORM_PAYOUTS)


# The queue told of every posting that takes money from a user's balance (persistence/ledger.post), in the
# posting's own commit: auto-recharge looks at the balance then (services/funding.recharge_if_low).
AUTO_RECHARGE_QUEUE = "auto-recharge"


@dataclass(frozen=True)
class Entry:
    account_id: str
    bucket: str
    amount: int  # signed minor units: + credits the account, - debits it


@dataclass(frozen=True)
class Posting:
    idempotency_key: str
    kind: str
    description: str
    entries: tuple[Entry, ...]
    reference: str | None = None

    def __post_init__(self) -> None:
        if len(self.entries) < 2:
            raise ValueError("a posting needs at least two entries")
        if any(e.bucket not in BUCKETS for e in self.entries):
            raise ValueError("unknown bucket")
        if any(not isinstance(e.amount, int) or e.amount == 0 for e in self.entries):
            raise ValueError("entry amounts are non-zero integers")
        if sum(e.amount for e in self.entries) != 0:
            raise ValueError("a posting must balance to zero")
        legs = [(e.account_id, e.bucket) for e in self.entries]
        if len(set(legs)) != len(legs):
            raise ValueError("one leg per account and bucket")

    def net_change(self) -> dict[tuple[str, str], int]:
        return {(e.account_id, e.bucket): e.amount for e in self.entries}


def transfer(idempotency_key: str, kind: str, description: str, *, debit: tuple[str, str],
             credit: tuple[str, str], amount: int, reference: str | None = None) -> Posting:
    """Move `amount` from one (account, bucket) to another."""
    if amount <= 0:
        raise ValueError("a transfer moves a positive amount")
    return Posting(
        idempotency_key, kind, description,
        (Entry(debit[0], debit[1], -amount), Entry(credit[0], credit[1], amount)),
        reference,
    )


def admin_credit(idempotency_key: str, account_id: str, amount: int, reason: str) -> Posting:
    return transfer(idempotency_key, "admin_credit", reason,
                    debit=(PLATFORM_FUNDING, BALANCE), credit=(account_id, BALANCE), amount=amount)


def card_top_up(payment_intent_id: str, account_id: str, amount: int, fee: int) -> Posting:
    """Money in by card (a PaymentIntent, its key): the user's balance gets the full amount; the platform's
    funding account the net Stripe pays out, and Stripe's fee is the platform's expense."""
    legs = [Entry(account_id, BALANCE, amount), Entry(PLATFORM_FUNDING, BALANCE, -(amount - fee))]
    if fee:
        legs.append(Entry(PLATFORM_PAYMENT_FEES, BALANCE, -fee))
    return Posting(f"top-up:{payment_intent_id}", "top_up", "Card top-up", tuple(legs), payment_intent_id)


def card_reversal(key: str, kind: str, description: str, account_id: str, amount: int, fee: int,
                  reference: str) -> Posting:
    """A refund or a chargeback (`key`: Stripe's refund or dispute id): the money leaves through Stripe, taken
    from the user's balance; a chargeback's `fee` is the platform's expense."""
    legs = [Entry(account_id, BALANCE, -amount), Entry(PLATFORM_FUNDING, BALANCE, amount + fee)]
    if fee:
        legs.append(Entry(PLATFORM_PAYMENT_FEES, BALANCE, -fee))
    return Posting(key, kind, description, tuple(legs), reference)


def hold(idempotency_key: str, account_id: str, amount: int, description: str, reference: str) -> Posting:
    """Set `amount` of the balance aside (the credit limit applies, as to any debit)."""
    return transfer(idempotency_key, "hold", description, debit=(account_id, BALANCE),
                    credit=(account_id, HELD), amount=amount, reference=reference)


def release(idempotency_key: str, account_id: str, amount: int, description: str, reference: str) -> Posting:
    """Give held funds back to the balance: what they were held for was not delivered."""
    return transfer(idempotency_key, "release", description, debit=(account_id, HELD),
                    credit=(account_id, BALANCE), amount=amount, reference=reference)


def number_charge(idempotency_key: str, account_id: str, amount: int, description: str, reference: str,
                  *, from_bucket: str = BALANCE) -> Posting:
    """A number's setup and monthly fees: the owner pays the platform, from its balance or from what
    was held for the purchase."""
    return transfer(idempotency_key, "number_fee", description, debit=(account_id, from_bucket),
                    credit=(PLATFORM_REVENUE, BALANCE), amount=amount, reference=reference)


def call_settlement(idempotency_key: str, *, buyer_id: str, seller_id: str, price: int, take: int, cost: int,
                    billable: bool, reference: str, loss: int = 0) -> Posting:
    """A completed routed call, paid from the price held from the seller at routing. Billable: the
    seller pays the price; the platform keeps its take; the telephony cost comes out of the buyer's
    payout (price less take) first, and only what the payout cannot cover from the buyer's balance; the
    buyer earns what is left of the payout. Not billable (it did not convert): the held price goes back
    to the seller, and the buyer's balance pays the telephony `cost`. Either way, what the carrier
    charged beyond `cost` (`loss`: minutes of a live call the buyer could not pay) is the platform's loss."""
    payout = price - take if billable else 0
    from_payout, from_balance = telephony_split(payout, cost)
    legs = [Entry(seller_id, HELD, -price)]
    if not billable:
        legs.append(Entry(seller_id, BALANCE, price))
    if payout - from_payout:
        legs.append(Entry(buyer_id, EARNINGS, payout - from_payout))
    if billable and take:
        legs.append(Entry(PLATFORM_REVENUE, BALANCE, take))
    if from_balance:
        legs.append(Entry(buyer_id, BALANCE, -from_balance))
    if loss:
        legs.append(Entry(PLATFORM_TELEPHONY_LOSS, BALANCE, -loss))
    if cost + loss:
        legs.append(Entry(PLATFORM_TELEPHONY, BALANCE, cost + loss))
    description = f"Call {reference}" if billable else f"Call {reference}: not billable"
    return Posting(idempotency_key, "call_settlement", description, tuple(legs), reference)


def settlement_reversal(idempotency_key: str, settled: list[dict], reference: str) -> Posting:
    """Undoes a call's settlement exactly (an accepted dispute): every leg the other way, and the price
    captured from the seller's hold goes back to its balance. `settled` are the settlement's entries as
    stored ({"account_id", "bucket", "amount"})."""
    legs = tuple(Entry(leg["account_id"], BALANCE if leg["bucket"] == HELD else leg["bucket"], -int(leg["amount"]))
                 for leg in settled)
    return Posting(idempotency_key, "dispute_reversal", f"Call {reference}: dispute accepted", legs, reference)


# A call's payout waits out its dispute window before it can be withdrawn.
EARNINGS_PENDING_DAYS = 7


def earnings_split(earnings: int, recent_payouts: int) -> tuple[int, int]:
    """(pending, available) of an account's earnings, given the payouts it earned within the dispute
    window: those are pending, as far as the earnings still hold them; the rest is available (negative
    after a reversal took back more than was left: withdrawals wait until it is positive again)."""
    pending = max(0, min(recent_payouts, earnings))
    return pending, earnings - pending


def withdrawal(withdrawal_id: str, account_id: str, amount: int) -> Posting:
    """Earnings withdrawn (a Stripe transfer to the user's connected account): out of the user's earnings to the
    platform's payouts account. Keyed by the withdrawal, so a retry posts once."""
    return transfer(f"withdrawal:{withdrawal_id}", "withdrawal", "Earnings withdrawn", debit=(account_id, EARNINGS),
                    credit=(PLATFORM_PAYOUTS, BALANCE), amount=amount, reference=withdrawal_id)


def withdrawal_return(key: str, withdrawal_id: str, account_id: str, amount: int) -> Posting:
    """A withdrawal's money back in the user's earnings: its transfer was refused or reversed (`key`: once per
    refusal or Stripe reversal)."""
    return transfer(key, "withdrawal_return", "Withdrawal returned: the transfer failed",
                    debit=(PLATFORM_PAYOUTS, BALANCE), credit=(account_id, EARNINGS), amount=amount,
                    reference=withdrawal_id)


def is_platform(account_id: str) -> bool:
    return account_id.startswith("platform:")


# The platform's accounts are each split into shard accounts ("platform:revenue#3"): every settlement
# writes revenue and telephony, so one item each would take every call's write. A posting's platform legs go
# to the shard its idempotency key hashes to; the platform account is the sum of its shards.
def platform_shard(account_id: str, shard: int) -> str:
    return f"{account_id}#{shard}"


def platform_account_of(account_id: str) -> str:
    """The platform account a shard account is part of (any other account is itself)."""
    return account_id.partition("#")[0] if is_platform(account_id) else account_id


def with_platform_shard(posting: Posting, shard: int) -> Posting:
    """The posting with each platform leg on that platform account's shard `shard` (user legs unchanged)."""
    if not any(is_platform(e.account_id) and "#" not in e.account_id for e in posting.entries):
        return posting
    entries = tuple(Entry(platform_shard(e.account_id, shard), e.bucket, e.amount)
                    if is_platform(e.account_id) and "#" not in e.account_id else e for e in posting.entries)
    return Posting(posting.idempotency_key, posting.kind, posting.description, entries, posting.reference)
