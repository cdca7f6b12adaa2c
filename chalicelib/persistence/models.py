"""Every table, key, index and TTL of the product, as PynamoDB models.

infra/resources.json is generated from these classes (see infra/generate.py), and the
local runtime and tests create their tables from them, so the three cannot drift.
"""
from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    ListAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.attributes import TTLAttribute

from chalicelib.domain.numbers import CUSTOM
from chalicelib.persistence.base import BaseModel
from chalicelib.persistence.connections import ConnectionModel, SubscriptionModel, UserConnectionsModel
from chalicelib.persistence.limits import AccountTokenModel, RateCounterModel



EVERYTHING = "ALL"  # the `listing` of every item a table lists for admins (Everything)


def everything_index(range_key: str, range_attribute: type = UTCDateTimeAttribute) -> GlobalSecondaryIndex:
    """An index of every item of a table under one key, newest first: what an admin lists across users.
    One partition takes each of the table's writes, which bounds the table near 1,000 writes a second
    (a sharded key would lift that, at the price of merging shards on read)."""
    meta = type("Meta", (), {"index_name": "everything", "projection": AllProjection()})
    index = type("Everything", (GlobalSecondaryIndex,), {
        "Meta": meta, "listing": UnicodeAttribute(hash_key=True), range_key: range_attribute(range_key=True)})
    return index()


# --- identity -------------------------------------------------------------------------------

class UsersByType(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_type"
        projection = AllProjection()

    account_type = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class AllUsers(GlobalSecondaryIndex):
    class Meta:
        index_name = "all_users"
        projection = AllProjection()

    kind = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class TimedSuspensions(GlobalSecondaryIndex):
    """Sparse: only users whose suspension ends at a known time are in it."""

    class Meta:
        index_name = "timed_suspensions"
        projection = KeysOnlyProjection()

    suspension_key = UnicodeAttribute(hash_key=True)
    suspended_until = UTCDateTimeAttribute(range_key=True)


class UserModel(BaseModel):
    logical_name = "users"

    class Meta(BaseModel.Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="USER")
    email = UnicodeAttribute()
    password_hash = UnicodeAttribute()
    first_name = UnicodeAttribute()
    last_name = UnicodeAttribute()
    company = UnicodeAttribute(null=True)
    account_type = UnicodeAttribute()  # buyer | seller | admin
    status = UnicodeAttribute(default="active")  # active | suspended | deactivated
    email_verified = BooleanAttribute(default=False)
    suspension_reason = UnicodeAttribute(null=True)
    suspended_at = UTCDateTimeAttribute(null=True)
    suspended_until = UTCDateTimeAttribute(null=True)
    suspension_key = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    last_login_at = UTCDateTimeAttribute(null=True)
    # Ids of the user's live sessions, rewritten (conditionally) by every login: the limit on active
    # sessions is kept on this item, read consistently, not on the eventually consistent sessions index.
    session_ids = ListAttribute(of=UnicodeAttribute, default=list)

    by_type = UsersByType()
    all_users = AllUsers()
    timed_suspensions = TimedSuspensions()


class EmailClaimModel(BaseModel):
    """One item per email: makes email uniqueness a create-only conditional write."""

    logical_name = "emails"

    class Meta(BaseModel.Meta):
        pass

    email = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()


class SessionsByUser(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_user"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class SessionModel(BaseModel):
    """A login: the family of refresh tokens rotated from it. Only token hashes are stored."""

    logical_name = "sessions"

    class Meta(BaseModel.Meta):
        pass

    session_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    token_hash = UnicodeAttribute()
    # Hashes of the last rotated-away tokens: presenting one again is reuse (theft) and revokes the family.
    previous_hashes = ListAttribute(of=UnicodeAttribute, default=list)
    generation = NumberAttribute(default=0)
    revoked = BooleanAttribute(default=False)
    revoked_reason = UnicodeAttribute(null=True)
    # What the client said about itself at login (platform, browser, version ...), as it said it.
    device_info = JSONAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    last_used_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    # DynamoDB deletes the item some time after this; the code never relies on it.
    purge_at = TTLAttribute(null=True)

    by_user = SessionsByUser()


# --- money ----------------------------------------------------------------------------------

class AccountModel(BaseModel):
    """A billing account. Amounts are integer minor units (1/10,000 USD)."""

    logical_name = "accounts"

    class Meta(BaseModel.Meta):
        pass

    account_id = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute(null=True)  # user id; None for platform accounts
    currency = UnicodeAttribute(default="USD")
    balance = NumberAttribute(default=0)
    earnings = NumberAttribute(default=0)
    held = NumberAttribute(default=0)  # set aside from balance for what is bought but not yet delivered
    credit_limit = NumberAttribute(default=0)
    # balance + credit_limit, kept beside them so "may this debit happen" is one write condition.
    spendable = NumberAttribute(default=0)
    entry_count = NumberAttribute(default=0)  # ledger entries of the account (its statement's total)
    created_at = UTCDateTimeAttribute()
    listing = UnicodeAttribute(default=EVERYTHING)

    everything = everything_index("created_at")  # the books (GET /admin/ledger) sum every account


class LedgerTransactionModel(BaseModel):
    """A balanced posting, keyed by its idempotency key so a retry cannot post twice."""

    logical_name = "ledger_transactions"

    class Meta(BaseModel.Meta):
        pass

    idempotency_key = UnicodeAttribute(hash_key=True)
    transaction_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    description = UnicodeAttribute()
    reference = UnicodeAttribute(null=True)
    entries = JSONAttribute()  # [{"account_id", "bucket", "amount"}]
    created_at = UTCDateTimeAttribute()


class LedgerEntryModel(BaseModel):
    """One leg of a posting, listed per account (the account's statement)."""

    logical_name = "ledger_entries"

    class Meta(BaseModel.Meta):
        pass

    account_id = UnicodeAttribute(hash_key=True)
    entry_key = UnicodeAttribute(range_key=True)  # "<created_at iso>#<transaction_id>#<leg>"
    transaction_id = UnicodeAttribute()
    bucket = UnicodeAttribute()  # balance | earnings
    amount = NumberAttribute()  # signed minor units: + credits the account, - debits it
    kind = UnicodeAttribute()
    description = UnicodeAttribute()
    reference = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    listing = UnicodeAttribute(default=EVERYTHING)

    everything = everything_index("entry_key", UnicodeAttribute)


# --- notifications --------------------------------------------------------------------------

class NotificationModel(BaseModel):
    """A message to a user (their inbox). Written by the notifications worker, once per message."""

    logical_name = "notifications"

    class Meta(BaseModel.Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    notification_key = UnicodeAttribute(range_key=True)  # "<created_at iso>#<notification_id>"
    notification_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    subject = UnicodeAttribute()
    message = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


# --- numbers (DIDs) -------------------------------------------------------------------------

class NumbersByOwner(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_owner"
        projection = AllProjection()

    owner_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class BillableNumbers(GlobalSecondaryIndex):
    """Sparse: active numbers only, for the monthly fee job (never a request path)."""

    class Meta:
        index_name = "billable"
        projection = KeysOnlyProjection()

    billing_key = UnicodeAttribute(hash_key=True)
    number_id = UnicodeAttribute(range_key=True)


class NumbersByOwnerStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_owner_status"
        projection = AllProjection()

    owner_status = UnicodeAttribute(hash_key=True)  # "<owner_id>#<status>"
    created_at = UTCDateTimeAttribute(range_key=True)


class NumberModel(BaseModel):
    """A phone number bought through the exchange. Released numbers stay, as history."""

    logical_name = "numbers"

    class Meta(BaseModel.Meta):
        pass

    number_id = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    phone_number = UnicodeAttribute()
    twilio_sid = UnicodeAttribute()
    friendly_name = UnicodeAttribute()
    number_type = UnicodeAttribute()  # local | toll_free | mobile
    country_code = UnicodeAttribute()
    region = UnicodeAttribute(null=True)
    locality = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="ACTIVE")  # ACTIVE | RELEASED
    owner_status = UnicodeAttribute()  # "<owner_id>#<status>"
    routing = UnicodeAttribute(default=CUSTOM)  # custom (voice_url) | exchange
    voice_url = UnicodeAttribute(null=True)
    voice_method = UnicodeAttribute(default="POST")
    call_type = UnicodeAttribute(null=True)
    setup_price = NumberAttribute()  # minor units
    monthly_price = NumberAttribute()
    billed_through = UnicodeAttribute()  # last billing period charged, "YYYY-MM"
    billing_key = UnicodeAttribute(null=True)  # "ACTIVE" while billable
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    released_at = UTCDateTimeAttribute(null=True)

    listing = UnicodeAttribute(default=EVERYTHING)

    by_owner = NumbersByOwner()
    by_owner_status = NumbersByOwnerStatus()
    billable = BillableNumbers()
    everything = everything_index("created_at")


class PhoneClaimModel(BaseModel):
    """One item per number held on the exchange: nobody can hold a number twice, and search can
    tell which numbers are taken with one batch read."""

    logical_name = "phone_claims"

    class Meta(BaseModel.Meta):
        pass

    phone_number = UnicodeAttribute(hash_key=True)
    number_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()


class OrdersByOwner(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_owner"
        projection = AllProjection()

    owner_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class PendingOrders(GlobalSecondaryIndex):
    """Sparse: orders not finished yet, oldest first, for the sweeper that completes stuck orders."""

    class Meta:
        index_name = "pending"
        projection = KeysOnlyProjection()

    pending_key = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class OrderModel(BaseModel):
    """A purchase of 1-10 numbers; its items live inside it (written by one worker at a time)."""

    logical_name = "orders"

    class Meta(BaseModel.Meta):
        pass

    order_id = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute()
    status = UnicodeAttribute()  # PENDING | COMPLETED | PARTIALLY_COMPLETED | FAILED
    items = JSONAttribute()  # [{"phone_number", "friendly_name", "configuration", "status", ...}]
    total_price = NumberAttribute()  # minor units, if every item succeeds
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    completed_at = UTCDateTimeAttribute(null=True)
    pending_key = UnicodeAttribute(null=True)  # "PENDING" until the order finishes, then removed
    listing = UnicodeAttribute(default=EVERYTHING)

    by_owner = OrdersByOwner()
    pending = PendingOrders()
    everything = everything_index("created_at")


class SearchCacheModel(BaseModel):
    """Twilio search results for 5 minutes; DynamoDB's TTL removes them later, reads check the time."""

    logical_name = "number_search_cache"

    class Meta(BaseModel.Meta):
        pass

    cache_key = UnicodeAttribute(hash_key=True)
    results = JSONAttribute()
    expires_at = UTCDateTimeAttribute()
    purge_at = TTLAttribute()


class UserStatsModel(BaseModel):
    """Dashboard counters, updated in the same writes that change what they count."""

    logical_name = "user_stats"

    class Meta(BaseModel.Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    total_numbers = NumberAttribute(default=0)
    active_numbers = NumberAttribute(default=0)
    orders = NumberAttribute(default=0)
    spend = NumberAttribute(default=0)  # minor units: numbers for a buyer, calls for a seller
    calls_paid = NumberAttribute(default=0)  # a seller's billed calls (spend / calls_paid: its average price)
    auctions_won = NumberAttribute(default=0)  # a seller's (win rate: won / auctions bid, the bids# counter)


class CounterModel(BaseModel):
    """How many items a listing has (e.g. "calls#<owner>", "calls#<owner>#completed"), kept by the
    transactions that add, remove or move them: a list's total is one read, never a count."""

    logical_name = "counters"

    class Meta(BaseModel.Meta):
        pass

    counter_key = UnicodeAttribute(hash_key=True)
    value = NumberAttribute(default=0)


# --- exchange: calls, compliance, bid profiles, auctions, bids ----------------------------------

class CallsByOwner(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_owner"
        projection = AllProjection()

    owner_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class CallsByOwnerStatus(GlobalSecondaryIndex):
    """A buyer's calls in one status, newest first: a status-filtered list reads only what it returns."""

    class Meta:
        index_name = "by_owner_status"
        projection = AllProjection()

    owner_status = UnicodeAttribute(hash_key=True)  # "<owner_id>#<status>"
    created_at = UTCDateTimeAttribute(range_key=True)


class CallsBySeller(GlobalSecondaryIndex):
    """The calls routed to a seller, newest first: a call is in it while it has a seller (a released
    attempt leaves it)."""

    class Meta:
        index_name = "by_seller"
        projection = AllProjection()

    seller_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class OpenDisputes(GlobalSecondaryIndex):
    """Sparse: calls whose dispute waits for an admin's decision, oldest first."""

    class Meta:
        index_name = "open_disputes"
        projection = AllProjection()

    open_dispute = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class DisputeAttribute(MapAttribute):
    """A seller's dispute of a billed call its buyer reported: open until an admin accepts (the
    settlement is reversed) or rejects it."""

    status = UnicodeAttribute()  # open | accepted | rejected
    reason = UnicodeAttribute()
    opened_at = UTCDateTimeAttribute()
    decided_at = UTCDateTimeAttribute(null=True)
    note = UnicodeAttribute(null=True)


class CallModel(BaseModel):
    """A call brought by a buyer. Its status changes only by conditional writes (domain/calls.py)."""

    logical_name = "calls"

    class Meta(BaseModel.Meta):
        pass

    call_id = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute()
    from_number = UnicodeAttribute()
    to_number = UnicodeAttribute()
    direction = UnicodeAttribute()  # inbound | outbound
    source = UnicodeAttribute(default="api")  # api (its buyer drives it) | twilio (Twilio's callbacks do)
    call_sid = UnicodeAttribute(null=True)  # Twilio's CallSid of a call it carried
    # Each seller a live call rang: {"seller_id", "profile_id", "price", "outcome", "started_at", "ended_at"}
    attempts = JSONAttribute(default=list)
    call_type = UnicodeAttribute(null=True)
    keywords = ListAttribute(of=UnicodeAttribute, default=list)
    caller_country = UnicodeAttribute(null=True)
    caller_state = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    owner_status = UnicodeAttribute()  # "<owner_id>#<status>", moved with every status change
    auction_id = UnicodeAttribute(null=True)
    seller_id = UnicodeAttribute(null=True)
    profile_id = UnicodeAttribute(null=True)
    price = NumberAttribute(null=True)  # minor units the seller pays (held from routing until the end)
    spend_key = UnicodeAttribute(null=True)  # the profile's daily budget the price was counted against
    destination_number = UnicodeAttribute(null=True)
    duration_seconds = NumberAttribute(null=True)  # as reported (by Twilio for a live call, else its buyer)
    billed_seconds = NumberAttribute(null=True)  # the talk time billed: bounded by what the buyer can pay
    cost = NumberAttribute(null=True)  # telephony cost, minor units: from the buyer's payout first, then its balance
    billable = BooleanAttribute(null=True)
    # The routed profile's duplicate window: its seller was billed for this caller within it (the call is
    # routed, not billable), or, when not, the key a bill of this call writes for later calls to find.
    duplicate_caller = BooleanAttribute(null=True)
    caller_key = UnicodeAttribute(null=True)
    dispute = DisputeAttribute(null=True)
    open_dispute = UnicodeAttribute(null=True)  # "OPEN" while its dispute waits (OpenDisputes)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    routed_at = UTCDateTimeAttribute(null=True)
    started_at = UTCDateTimeAttribute(null=True)  # when it went in progress
    ended_at = UTCDateTimeAttribute(null=True)  # when it reached any ending
    completed_at = UTCDateTimeAttribute(null=True)
    listing = UnicodeAttribute(default=EVERYTHING)

    by_owner = CallsByOwner()
    by_owner_status = CallsByOwnerStatus()
    by_seller = CallsBySeller()
    open_disputes = OpenDisputes()
    everything = everything_index("created_at")


class ComplianceRefusalModel(BaseModel):
    """Every call compliance refused, with its reason (kept for audits)."""

    logical_name = "compliance_refusals"

    class Meta(BaseModel.Meta):
        pass

    owner_id = UnicodeAttribute(hash_key=True)
    refusal_key = UnicodeAttribute(range_key=True)  # "<created_at iso>#<uuid>"
    from_number = UnicodeAttribute()
    to_number = UnicodeAttribute()
    code = UnicodeAttribute()
    reason = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class DncEntryModel(BaseModel):
    logical_name = "dnc"

    class Meta(BaseModel.Meta):
        pass

    phone_number = UnicodeAttribute(hash_key=True)
    reason = UnicodeAttribute()
    list_type = UnicodeAttribute()
    added_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class ComplianceRuleModel(BaseModel):
    """Small admin-kept rules, one partition per kind: "tcpa_hours" (one item), "state" (restricted
    states, one item each), so listing a kind is one query."""

    logical_name = "compliance_rules"

    class Meta(BaseModel.Meta):
        pass

    kind = UnicodeAttribute(hash_key=True)
    rule_key = UnicodeAttribute(range_key=True)
    settings = JSONAttribute(default=dict)
    reason = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()


class ProfilesBySeller(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_seller"
        projection = AllProjection()

    seller_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class BidProfileModel(BaseModel):
    logical_name = "bid_profiles"

    class Meta(BaseModel.Meta):
        pass

    profile_id = UnicodeAttribute(hash_key=True)
    seller_id = UnicodeAttribute()
    criteria = JSONAttribute()  # {"countries", "states", "call_type", "keywords", "max_budget" (minor)}
    # Both or either may be absent: such a profile bids in auctions only (domain/routing.routable).
    bid_amount = NumberAttribute(null=True)  # minor units
    destination_number = UnicodeAttribute(null=True)
    active = BooleanAttribute(default=True)
    # Taken out of the market (inactive) because its seller was suspended or deactivated; back when the
    # seller is active again.
    paused = BooleanAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    # Bumped by every write; a write is conditional on the revision it read, so the profile and its
    # RouteEntryModel items change together (None: written before revisions were kept).
    revision = NumberAttribute(null=True)

    by_seller = ProfilesBySeller()


class RouteEntryModel(BaseModel):
    """Where instant routing finds an active bid profile: one item per "<country or *>#<state or *>" key
    its geography targets (domain/routing.profile_keys), each a copy of the profile, so a call reads the
    profiles of its own 4 keys (domain/routing.call_keys) and nothing else. Written in the transaction
    that creates, changes or deletes the profile (persistence/route_entries.py); an inactive profile
    has none."""

    logical_name = "route_entries"

    class Meta(BaseModel.Meta):
        pass

    route_key = UnicodeAttribute(hash_key=True)  # "US#CA", "US#*", "*#CA" or "*#*"
    profile_id = UnicodeAttribute(range_key=True)
    seller_id = UnicodeAttribute()
    criteria = JSONAttribute()  # the profile's, max_budget included
    bid_amount = NumberAttribute(null=True)  # minor units; None: the profile bids in auctions only
    destination_number = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()


class SellerBookModel(BaseModel):
    """A seller's active bid profiles in one item, so a bid reads them with the auction in one round trip:
    {profile_id: {"criteria", "bid_amount", "created_at"}}. Rewritten (conditionally on `version`) in
    the transaction that writes a profile (persistence/seller_books.py)."""

    logical_name = "seller_books"

    class Meta(BaseModel.Meta):
        pass

    seller_id = UnicodeAttribute(hash_key=True)
    profiles = JSONAttribute(default=dict)
    version = NumberAttribute(default=0)


class ProfileSpendModel(BaseModel):
    """What a profile's seller paid for calls on one day, against its daily max_budget."""

    logical_name = "profile_spend"

    class Meta(BaseModel.Meta):
        pass

    spend_key = UnicodeAttribute(hash_key=True)  # "<profile_id>#<YYYY-MM-DD>"
    spent = NumberAttribute(default=0)
    purge_at = TTLAttribute(null=True)


class CallerBilledModel(BaseModel):
    """When a seller was last billed for a call from one caller: a profile with duplicate_window_hours
    takes a caller's call within that window without paying for it."""

    logical_name = "caller_billed"

    class Meta(BaseModel.Meta):
        pass

    caller_key = UnicodeAttribute(hash_key=True)  # "<seller_id>#<caller's E.164 number>"
    billed_at = UTCDateTimeAttribute()
    purge_at = TTLAttribute(null=True)  # the longest window after the bill


class OpenAuctions(GlobalSecondaryIndex):
    """Sparse: open auctions by end time, for the sweeper and for sellers looking for auctions to bid in."""

    class Meta:
        index_name = "open_by_end"
        projection = AllProjection()

    open_key = UnicodeAttribute(hash_key=True)
    ends_at = UTCDateTimeAttribute(range_key=True)


class AuctionModel(BaseModel):
    logical_name = "auctions"

    class Meta(BaseModel.Meta):
        pass

    auction_id = UnicodeAttribute(hash_key=True)
    call_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    reserve_price = NumberAttribute()  # minor units
    call_facts = JSONAttribute(null=True)  # what the call states, for matching bidders' profiles
    status = UnicodeAttribute()  # open | closed (the wire says active | completed: domain/auctions.py)
    open_key = UnicodeAttribute(null=True)  # "OPEN" while open
    bid_count = NumberAttribute(default=0)  # the bids it closed with (bids do not write the auction)
    ends_at = UTCDateTimeAttribute()
    winner = JSONAttribute(null=True)  # {"bid_id", "seller_id", "profile_id", "amount", "placed_at"}
    created_at = UTCDateTimeAttribute()
    closed_at = UTCDateTimeAttribute(null=True)
    decided_at = UTCDateTimeAttribute(null=True)  # when the winner was read from the bids, after closing

    open_auctions = OpenAuctions()


class BidsBySeller(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_seller"
        projection = AllProjection()

    seller_id = UnicodeAttribute(hash_key=True)
    placed_at = UTCDateTimeAttribute(range_key=True)


class BidsById(GlobalSecondaryIndex):
    """A bid by its id (GET/DELETE /bids/{id}): the keys, to read the bid itself consistently."""

    class Meta:
        index_name = "by_bid_id"
        projection = KeysOnlyProjection()

    bid_id = UnicodeAttribute(hash_key=True)


class BidModel(BaseModel):
    """A seller's standing bid in an auction: one per seller, a higher re-bid replaces it."""

    logical_name = "bids"

    class Meta(BaseModel.Meta):
        pass

    auction_id = UnicodeAttribute(hash_key=True)
    seller_id = UnicodeAttribute(range_key=True)
    bid_id = UnicodeAttribute()
    profile_id = UnicodeAttribute()
    amount = NumberAttribute()  # minor units
    placed_at = UTCDateTimeAttribute()

    by_seller = BidsBySeller()
    by_bid_id = BidsById()


ALL_MODELS: tuple[type[BaseModel], ...] = (
    UserModel,
    EmailClaimModel,
    SessionModel,
    AccountModel,
    LedgerTransactionModel,
    LedgerEntryModel,
    NotificationModel,
    NumberModel,
    PhoneClaimModel,
    OrderModel,
    SearchCacheModel,
    UserStatsModel,
    CounterModel,
    CallModel,
    ComplianceRefusalModel,
    DncEntryModel,
    ComplianceRuleModel,
    BidProfileModel,
    RouteEntryModel,
    SellerBookModel,
    ProfileSpendModel,
    CallerBilledModel,
    AuctionModel,
    BidModel,
    RateCounterModel,  # persistence/limits.py
    AccountTokenModel,
    ConnectionModel,  # persistence/connections.py
    UserConnectionsModel,
    SubscriptionModel,
)
