"""Writes postings: entries, balance updates and the idempotency key in one DynamoDB transaction."""
from __future__ import annotations

import uuid
from datetime import datetime

from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib.domain import events
from chalicelib.domain.errors import Conflict, InvalidState, NotFound, PaymentRequired
from chalicelib.domain.ledger import (AUTO_RECHARGE_QUEUE, BALANCE, BUCKETS, EARNINGS, HELD, PLATFORM_ACCOUNTS, Entry,
                                     Posting, is_platform, platform_account_of, platform_shard, with_platform_shard)
from chalicelib.domain.money import format_money
from chalicelib.persistence import counters
from chalicelib.persistence.base import shard_count, shard_key, shard_keys, shard_of
from chalicelib.persistence.tables import (EVERYTHING, AccountModel, LedgerEntryModel, LedgerTotalsModel,
                                           LedgerTransactionModel)
from chalicelib.persistence.pagination import Page, paginate, paginate_shards, shard_pool
from chalicelib.persistence.unit_of_work import UnitOfWork, failed_items

TOTALS = "totals"  # LedgerTotalsModel's shards: "totals#<k>"


def open_account(account_id: str, owner_id: str | None, credit_limit: int, now: datetime) -> AccountModel:
    """The account item, unsaved: registration writes it in the same transaction as the user."""
    return AccountModel(account_id=account_id, owner_id=owner_id, credit_limit=credit_limit,
                        spendable=credit_limit, created_at=now)


def post(posting: Posting, now: datetime, work: UnitOfWork | None = None, *, enforce_limits: bool = True,
         replay_ok: bool = True, keep: int = 0) -> LedgerTransactionModel:
    """Apply a posting exactly once, with whatever else the caller's unit of work holds (a state change,
    counters), in one commit. A retry with the same idempotency key returns the first result and owes
    nothing again; a debit that would take a user's account past its credit limit posts nothing (402),
    unless `enforce_limits` is off (charging for something already delivered). When a condition of the
    caller's items fails, the TransactWriteError goes to the caller, whose items say best what happened (a
    call that changed state is not a 402, though the hold it expected is gone too). With `replay_ok` off, a
    posting already made raises InvalidState instead of returning it (a second completion must fail). `keep`
    is what a limited debit must leave in its bucket (a withdrawal leaves the earnings still pending)."""
    work = work or UnitOfWork()
    transaction_id = str(uuid.uuid4())
    # The posting's shard: of the platform's accounts and of the books' totals (a retry finds the same).
    shard = shard_of(posting.idempotency_key)
    posting = with_platform_shard(posting, shard)
    record = LedgerTransactionModel(
        idempotency_key=posting.idempotency_key,
        transaction_id=transaction_id,
        kind=posting.kind,
        description=posting.description,
        reference=posting.reference,
        entries=[{"account_id": e.account_id, "bucket": e.bucket, "amount": e.amount} for e in posting.entries],
        created_at=now,
    )
    # One update per account (a transaction may touch an item once), with every bucket it changes.
    by_account: dict[str, list[Entry]] = {}
    for entry in posting.entries:
        by_account.setdefault(entry.account_id, []).append(entry)
    work.save(record, condition=LedgerTransactionModel.idempotency_key.does_not_exist())
    for leg, entry in enumerate(posting.entries):
        work.save(LedgerEntryModel(
            account_id=entry.account_id,
            entry_key=f"{now.isoformat()}#{transaction_id}#{leg}",
            transaction_id=transaction_id,
            bucket=entry.bucket,
            amount=entry.amount,
            kind=posting.kind,
            description=posting.description,
            reference=posting.reference,
            created_at=now,
        ))
    for account_id, entries in by_account.items():
        work.update(AccountModel(account_id=account_id),
                    **_account_change(account_id, entries, enforce_limits, keep, now))
        if not is_platform(account_id) and any(e.bucket == BALANCE and e.amount < 0 for e in entries):
            work.send(AUTO_RECHARGE_QUEUE, {"account_id": account_id})  # sent only if under its mark (services/outbox)
    work.update(LedgerTotalsModel(shard=f"{TOTALS}#{shard}"), actions=_totals_change(posting))
    work.emit(*events.balance_changed(posting, transaction_id, now))
    try:
        work.commit()
    except TransactWriteError as error:
        failed = failed_items(error)
        if record in failed:
            if not replay_ok:
                raise InvalidState("This has already been done", code="INVALID_STATE") from None
            first = LedgerTransactionModel.get(posting.idempotency_key, consistent_read=True)
            # As Stripe: a key names one request (its amounts and its description), not any request.
            if (first.entries, first.description) != (record.entries, record.description):
                raise Conflict("This idempotency key was used for a different request",
                               code="IDEMPOTENCY_KEY_REUSED") from None
            return first
        if any(item is not record and not isinstance(item, AccountModel) for item in failed):
            raise  # a condition of the caller's failed too: the caller tells what happened
        for account in failed:
            if isinstance(account, AccountModel) and account.account_id in by_account:
                if not _account_exists(account.account_id):
                    raise NotFound("Billing account not found", code="ACCOUNT_NOT_FOUND") from None
                raise PaymentRequired("Insufficient balance: the account's credit limit would be exceeded",
                                      code="INSUFFICIENT_FUNDS") from None
        raise
    return record


def _totals_change(posting: Posting) -> list:
    """What a posting adds to its shard of the books' totals: each bucket's legs, its entries, one posting."""
    by_bucket: dict[str, int] = {}
    for entry in posting.entries:
        by_bucket[entry.bucket] = by_bucket.get(entry.bucket, 0) + entry.amount
    return [*(getattr(LedgerTotalsModel, bucket).add(amount) for bucket, amount in by_bucket.items()),
            LedgerTotalsModel.entry_count.add(len(posting.entries)), LedgerTotalsModel.postings.add(1)]


def _account_change(account_id: str, entries: list[Entry], enforce_limits: bool, keep: int, now: datetime) -> dict:
    """ADD to each bucket; a debit of a user's account must stay within what it may spend. A platform shard
    account is opened by its first posting (what an opened account holds, set where absent)."""
    actions, condition = [AccountModel.entry_count.add(len(entries))], AccountModel.account_id.exists()
    if is_platform(account_id):
        condition = None
        touched = {entry.bucket for entry in entries} | ({"spendable"} if BALANCE in {e.bucket for e in entries}
                                                          else set())
        opened = {"created_at": now, "listing": shard_key(EVERYTHING, account_id), "currency": "USD",
                  "credit_limit": 0, **{name: 0 for name in (*BUCKETS, "spendable") if name not in touched}}
        actions += [getattr(AccountModel, name).set(getattr(AccountModel, name) | value)
                    for name, value in opened.items()]
    for entry in entries:
        bucket, amount = entry.bucket, entry.amount
        limited = enforce_limits and amount < 0 and not is_platform(account_id)
        actions.append(getattr(AccountModel, bucket).add(amount))
        if bucket == BALANCE:
            # spendable = balance + credit_limit, kept beside balance so the limit is one condition.
            actions.append(AccountModel.spendable.add(amount))
            if limited:
                condition &= AccountModel.spendable >= keep - amount
        elif limited:
            condition &= getattr(AccountModel, bucket) >= keep - amount
        elif bucket == HELD and amount < 0:  # only what was held can be captured or released
            condition &= getattr(AccountModel, bucket) >= -amount
    return {"actions": actions, "condition": condition}


def _account_exists(account_id: str) -> bool:
    try:
        AccountModel.get(account_id)
        return True
    except AccountModel.DoesNotExist:
        return False


def get_account(account_id: str) -> AccountModel:
    try:
        return AccountModel.get(account_id, consistent_read=True)
    except AccountModel.DoesNotExist:
        raise NotFound("Billing account not found", code="ACCOUNT_NOT_FOUND") from None


def under_recharge_mark(account_ids: set[str]) -> set[str]:
    """Of these accounts, those whose balance is under their auto-recharge mark: one BatchGet."""
    if not account_ids:
        return set()
    return {a.account_id for a in AccountModel.batch_get(
        list(account_ids), consistent_read=True, attributes_to_get=["account_id", "balance", "recharge_below"])
        if a.recharge_below is not None and int(a.balance) < int(a.recharge_below)}


def payouts_since(account_id: str, since: datetime) -> int:
    """What the account earned from calls settled since `since`: one Query of its statement from then."""
    earned = (LedgerEntryModel.bucket == EARNINGS) & (LedgerEntryModel.amount > 0) & \
        (LedgerEntryModel.kind == "call_settlement")
    return sum(int(entry.amount) for entry in LedgerEntryModel.query(
        account_id, LedgerEntryModel.entry_key >= since.isoformat(), filter_condition=earned))


def list_entries(account_id: str | None, page: int, limit: int, next_token: str | None) -> Page:
    """An account's statement, newest first; with no account, every account's (admins: the entries'
    shards merged, the total from the books' kept totals)."""
    if account_id is None:
        return paginate_shards(LedgerEntryModel.everything, shard_keys(EVERYTHING), lambda: books_totals()["entries"],
                               scope="entries:*", page=page, limit=limit, next_token=next_token)

    def run(start_key, count):
        return LedgerEntryModel.query(account_id, scan_index_forward=False, last_evaluated_key=start_key,
                                      limit=count)

    return paginate(run, lambda: int(get_account(account_id).entry_count), scope=f"entries:{account_id}",
                    page=page, limit=limit, next_token=next_token)


def set_credit_limit(account_id: str, credit_limit: int, attempts: int = 3) -> AccountModel:
    """A new credit limit, with `spendable` (balance + limit) moved by the difference in the same write,
    conditional on the limit read: postings ADD to spendable meanwhile and are not lost. A limit that
    the account's debt already passes is 409 (the account would be below its limit at once)."""
    for _ in range(attempts):
        account = get_account(account_id)
        if int(account.balance) + credit_limit < 0:
            raise Conflict(f"The account owes more than that: its balance is {format_money(int(account.balance))}",
                           code="CREDIT_LIMIT_BELOW_DEBT")
        try:
            account.update(actions=[AccountModel.credit_limit.set(credit_limit),
                                    AccountModel.spendable.add(credit_limit - int(account.credit_limit))],
                           condition=(AccountModel.credit_limit == account.credit_limit)
                           & (AccountModel.balance >= -credit_limit))
            return account
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
    raise Conflict("The credit limit changed meanwhile; read it and try again", code="CONCURRENT_UPDATE")


def platform_shards(account_id: str) -> list[str]:
    return [platform_shard(account_id, shard) for shard in range(shard_count())]


def platform_accounts() -> list[AccountModel]:
    """Each platform account, as the sum of its shard accounts (one batch read of them all)."""
    ids = [shard for account_id in PLATFORM_ACCOUNTS for shard in platform_shards(account_id)]
    found = list(AccountModel.batch_get(ids, consistent_read=True))
    summed = {account_id: AccountModel(account_id=account_id, owner_id=None, created_at=None, listing=None)
              for account_id in PLATFORM_ACCOUNTS}
    for name, account in summed.items():
        for field in (*BUCKETS, "spendable", "credit_limit", "entry_count"):
            setattr(account, field, 0)
    for shard in found:
        account = summed[platform_account_of(shard.account_id)]
        for field in (*BUCKETS, "spendable", "entry_count"):
            setattr(account, field, getattr(account, field) + int(getattr(shard, field) or 0))
        if account.created_at is None or (shard.created_at and shard.created_at < account.created_at):
            account.created_at = shard.created_at
    return [summed[account_id] for account_id in PLATFORM_ACCOUNTS]


def platform_account(account_id: str) -> AccountModel:
    """One platform account ("platform:revenue"): its shards summed."""
    return next(account for account in platform_accounts() if account.account_id == account_id)


def books_totals() -> dict:
    """The books' kept totals (every shard, one consistent batch read): each bucket, entries and postings."""
    keys = [f"{TOTALS}#{shard}" for shard in range(shard_count())]
    shards = list(LedgerTotalsModel.batch_get(keys, consistent_read=True))
    totals = {bucket: sum(int(getattr(s, bucket) or 0) for s in shards) for bucket in BUCKETS}
    return {"totals": totals, "entries": sum(int(s.entry_count or 0) for s in shards),
            "postings": {s.shard: int(s.postings or 0) for s in shards}}


def platform_books() -> dict:
    """The platform's accounts, and every bucket of every account summed (all zero when the books
    balance), from the books' kept totals: each posting adds to its shard of them in its own transaction,
    so they are the sums of every account without reading one. The shards are read consistently until two
    reads in a row find the same posting counts: then the second is of one moment (a posting during it
    would show in its shard's count). The audit (`audit`) sums every account and checks the totals."""
    before, snapshot = None, False
    for _ in range(3):
        read = books_totals()
        snapshot, before = read["postings"] == before, read["postings"]
        if snapshot:
            break
    totals = read["totals"]
    return {"platform_accounts": platform_accounts(), "totals": totals, "sum": sum(totals.values()),
            "balanced": sum(totals.values()) == 0, "accounts": counters.value_of_all(counters.users()) + len(PLATFORM_ACCOUNTS),
            "snapshot": snapshot}


def audit() -> dict:
    """Every account summed (read through the accounts' sharded index, in parallel), against the kept
    totals: the books balance when the accounts sum to zero, and the totals are right when they equal the
    accounts' sums. Read twice around the accounts, the totals tell whether money moved meanwhile (then a
    difference may be that, not an error: `quiet` is false and the audit should run again)."""
    before = books_totals()
    shards = shard_keys(EVERYTHING)
    read = shard_pool().map(lambda key: list(AccountModel.everything.query(key)), shards)
    keys = [account.account_id for accounts in read for account in accounts]
    sums = {bucket: 0 for bucket in BUCKETS}
    entries = 0
    for start in range(0, len(keys), 100):
        for account in AccountModel.batch_get(keys[start:start + 100], consistent_read=True):
            for bucket in BUCKETS:
                sums[bucket] += int(getattr(account, bucket) or 0)
            entries += int(account.entry_count or 0)
    after = books_totals()
    kept = after["totals"]
    differences = {bucket: sums[bucket] - kept[bucket] for bucket in BUCKETS if sums[bucket] != kept[bucket]}
    if entries != after["entries"]:
        differences["entries"] = entries - after["entries"]
    return {"accounts": len(keys), "sums": sums, "totals": kept, "entries": entries,
            "balanced": sum(sums.values()) == 0, "differences": differences,
            "quiet": before["postings"] == after["postings"]}
