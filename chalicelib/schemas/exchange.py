"""Wire models of the exchange: calls, bid profiles, auctions, bids, compliance lists."""
import functools
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StrictBool, StrictInt, field_validator, model_validator
from pydantic_core import PydanticCustomError

from chalicelib.domain.auctions import ACTIVE, COMPLETED, MAX_DURATION_SECONDS, SHOWN_AS
from chalicelib.domain.calls import DIRECTIONS, OUTBOUND, RECORDING_STATUSES, SOURCES, STATUSES
from chalicelib.domain import rtb, terms
from chalicelib.domain.urls import MAX_LENGTH as MAX_URL_LENGTH
from chalicelib.domain.compliance import is_region
from chalicelib.domain.phones import NUMBER_OR_PREFIX_PATTERN, is_number_or_prefix
from chalicelib.domain.routing import MAX_DUPLICATE_WINDOW_HOURS
from chalicelib.schemas.billing import MoneyOut, NonNegativeMoneyIn, PositiveMoneyIn
from chalicelib.schemas.common import (
    UUID_PATTERN,
    PageQuery,
    Phone,
    PhoneNumber,
    ResponseModel,
    SafeText,
    StrictModel,
    UserPageQuery,
)

CallStatus = Literal[STATUSES]  # the lifecycle's statuses, as domain/calls.py states them
CallDirection = Literal[DIRECTIONS]
StateCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="US state or CA province, e.g. CA")]
Keyword = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[\w -]+$")]


class CreateCall(StrictModel):
    from_number: Phone("Invalid from number")
    to_number: Phone("Invalid to number")
    direction: CallDirection = OUTBOUND
    call_type: SafeText(50) | None = None
    keywords: list[Keyword] = Field(default_factory=list, max_length=20)


class CallStatusUpdate(StrictModel):
    # Any status: the call's lifecycle decides which move is legal (else 400 INVALID_STATE).
    status: CallStatus


class CompleteCall(StrictModel):
    duration: StrictInt = Field(ge=0, le=86_400, description="Seconds the call lasted")


class AttemptOut(ResponseModel):
    """One seller a live call rang: its outcome is answered, busy, no-answer, failed or canceled (null
    while it rings)."""

    seller_id: str
    profile_id: str
    price: MoneyOut
    outcome: str | None
    started_at: datetime
    ended_at: datetime | None


class RtbPingResultOut(ResponseModel):
    result: Literal[rtb.PING_OUTCOMES] = Field(description=(
        "bid, no_bid (it answered 0), timeout (no answer within its timeout_ms) or error (an error status, "
        "malformed JSON, a malformed amount or number)"))
    elapsed_ms: int = Field(description="How long its bidder took (up to its timeout)")
    bid_amount: MoneyOut | None = Field(None, description="Its bid, when it bid")
    bid_id: str | None = Field(None, description="The bidder's own id of its bid, if it gave one")


class RoutingLogEntryOut(ResponseModel):
    profile_id: str
    outcome: Literal[terms.ROUTED, terms.DIALED, terms.SKIPPED, rtb.PINGED] = Field(description=(
        "pinged: an RTB profile's bidder was asked its price (`ping` says what it answered); a profile that bid "
        "is then considered at its bid like any other"))
    reason: Literal[terms.REASONS] | None = Field(description="Why it was skipped (null unless skipped)")
    ping: RtbPingResultOut | None = Field(None, description="An RTB ping's answer (outcome pinged)")


class RecordingOut(ResponseModel):
    """A live call's recording, as Twilio last stated it: its audio is at GET /calls/{id}/recording once
    completed."""

    sid: str = Field(description="Twilio's RecordingSid")
    status: Literal[RECORDING_STATUSES] = Field(description="in-progress, then completed, absent or failed")
    duration: int | None = Field(None, description="Seconds recorded (null until Twilio knows)")


class DisputeOut(ResponseModel):
    status: Literal["open", "accepted", "rejected"]
    reason: str
    opened_at: datetime
    decided_at: datetime | None = None
    note: str | None = None


class DisputeRequest(StrictModel):
    reason: SafeText(500) = Field(description="Why the call should not have been billed")


class DisputeDecision(StrictModel):
    decision: Literal["accepted", "rejected"] = Field(description=(
        "accepted reverses the call's settlement exactly; rejected leaves it"))
    note: SafeText(500) | None = None


class CallOut(ResponseModel):
    id: str = Field(validation_alias="call_id")
    from_number: str
    to_number: str
    direction: CallDirection
    source: Literal[SOURCES] = Field(description="api: its buyer drives it; twilio: Twilio's callbacks do")
    call_sid: str | None = Field(None, description="Twilio's CallSid of a call Twilio carried (null for api calls)")
    attempts: list[AttemptOut] = Field(default_factory=list, description="The sellers a live call rang, in order")
    call_type: str | None
    status: CallStatus
    auction_id: str | None
    buyer_id: str = Field(validation_alias="owner_id", description="Who brought the call")
    seller_id: str | None
    profile_id: str | None
    price: MoneyOut | None
    destination_number: str | None
    duration: int | None = Field(validation_alias="duration_seconds")
    billed_seconds: int | None = Field(None, description=(
        "The talk time billed: the duration, bounded by what the call's payout and the buyer's balance and "
        "credit limit can pay for at the telephony rate"))
    cost: MoneyOut | None
    billable: bool | None
    converted: bool | None = Field(None, description=(
        "Its talk time reached its profile's conversion_seconds (null until it ends): only a converted call is "
        "billable"))
    routing_log: Annotated[list[RoutingLogEntryOut], BeforeValidator(lambda entries: entries or [])] = Field(
        default_factory=list, description=(
        "Each bid profile routing considered, in order, and its outcome. Its buyer and admins see every entry; "
        "its seller only its own profiles'"))
    duplicate_caller: Annotated[bool, BeforeValidator(bool)] = Field(False, description=(
        "Its seller was billed for this caller within its profile's duplicate_window_hours: routed, not billable"))
    dispute: DisputeOut | None = Field(None, description="Its seller's dispute, if any, and the decision")
    recording: RecordingOut | None = Field(None, description=(
        "A live call routed to a profile with record_calls: its recording (null when none)"))
    created_at: datetime
    routed_at: datetime | None
    start_time: datetime | None = Field(None, validation_alias="started_at", description="When it went in progress")
    end_time: datetime | None = Field(None, validation_alias="ended_at", description="When it ended, however")
    completed_at: datetime | None


class DncRequest(StrictModel):
    phone_number: PhoneNumber
    reason: SafeText(200)
    list_type: Literal["internal", "federal", "state", "custom"] = "internal"


class DncOut(ResponseModel):
    phone_number: str
    is_dnc: bool
    reason: str | None
    list_type: str | None


def _known_zone(value: str) -> str:
    """An IANA zone name ("localtime" and file paths, which ZoneInfo also opens, depend on the machine)."""
    if value not in _iana_zones():
        raise PydanticCustomError("unknown_timezone", "Unknown time zone")
    return value


@functools.cache
def _iana_zones() -> frozenset[str]:
    from zoneinfo import available_timezones

    return frozenset(available_timezones()) - {"localtime", "posixrules", "Factory"}  # not places


def _number_or_prefix(value: object) -> str:
    if not is_number_or_prefix(value):
        raise PydanticCustomError("invalid_phone_number", "Invalid phone number or prefix: \"+\" and 1 to 15 digits")
    return value


class BlockedCallerRequest(StrictModel):
    phone_number: str = Field(
        max_length=16, json_schema_extra={"type": "string", "pattern": NUMBER_OR_PREFIX_PATTERN},
        description="A number (E.164) or the start of one (\"+1212\", \"+44\"): calls from any number that is "
                    "it or starts with it are refused (CALLER_BLOCKED)")
    reason: SafeText(200)

    _number = field_validator("phone_number", mode="plain")(staticmethod(_number_or_prefix))


class BlockedCallerOut(ResponseModel):
    phone_number: str
    reason: str
    added_by: str
    created_at: datetime


class TcpaHours(StrictModel):
    start_time: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    end_time: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    timezone: str = Field(max_length=64, description="IANA zone for numbers whose own zone is unknown")

    _zone = field_validator("timezone")(staticmethod(_known_zone))


class TcpaHoursOut(ResponseModel):
    start_time: str
    end_time: str
    timezone: str


class RefusalListQuery(PageQuery):
    user_id: str | None = Field(None, pattern=UUID_PATTERN,
                                description="Admins: whose refusals to list (default: your own)")


class RefusalOut(ResponseModel):
    from_number: str
    to_number: str
    code: str
    reason: str
    created_at: datetime


class GeoRestrictionRequest(StrictModel):
    state: StateCode
    restricted: StrictBool = Field(True, description="true restricts the state; false lifts its restriction "
                                                     "(404 if it is not restricted), as DELETE .../{state} does")
    reason: SafeText(200) | None = None


class GeoRestrictionOut(ResponseModel):
    state: str
    restricted: bool = Field(True, description="false once the restriction is lifted")
    reason: str | None
    created_at: datetime = Field(description="When the state was restricted")


class Geography(StrictModel):
    countries: list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]] = Field(default_factory=list, max_length=50)
    states: list[StateCode] = Field(default_factory=list, max_length=70)

    @field_validator("countries")
    @classmethod
    def _known_countries(cls, value: list[str]) -> list[str]:
        if any(not is_region(code) for code in value):
            raise PydanticCustomError("unknown_country", "Unknown country code")
        return value


class Criteria(StrictModel):
    """What calls a profile wants; an empty list matches everything. Only what a call states can exclude
    it: a call with no call_type or no keywords matches profiles that target them, while one that states
    them must have one of the profile's call types and share one of its keywords. Geography is where the
    call comes from. In an update, the fields given replace those fields only (the rest of the targeting
    stays)."""

    geography: Geography = Field(default_factory=Geography)
    call_type: Annotated[list[SafeText(50)], Field(max_length=20)] | SafeText(50) = Field(
        default_factory=list, description="Call types wanted (a single string is accepted too)")
    keywords: list[Keyword] = Field(default_factory=list, max_length=20)
    max_budget: PositiveMoneyIn | None = Field(None, description="Daily spend cap, USD")
    verified_only: StrictBool = Field(False, description=(
        "Take only calls the telephony provider carried (live calls), never calls a buyer reports through the API"))
    duplicate_window_hours: StrictInt | None = Field(None, ge=1, le=MAX_DUPLICATE_WINDOW_HOURS, description=(
        "A call from a caller this seller was billed for within this many hours is routed, but not billable"))

    @field_validator("call_type", mode="after")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
BlockedCaller = Annotated[str, Field(pattern=NUMBER_OR_PREFIX_PATTERN, description="An E.164 number or a prefix, e.g. +1212")]


def _a_date(value: str) -> str:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("invalid_date", "Not a date: use YYYY-MM-DD") from None
    return value


ClosedDate = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"), AfterValidator(_a_date)]


class ScheduleWindow(StrictModel):
    days: list[Literal[terms.DAYS]] = Field(min_length=1, max_length=7)
    start_time: str = Field(pattern=_HHMM, description="HH:MM, local time")
    end_time: str = Field(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$", description=(
        "HH:MM, local time, after start_time; 24:00 is the day's end (a window never crosses midnight: use two)"))

    @model_validator(mode="after")
    def _ends_after_start(self):
        if self.end_time <= self.start_time:
            raise PydanticCustomError("window_order", "end_time must be after start_time (use two windows over midnight)")
        return self


class Schedule(StrictModel):
    """Hours of operation: open inside a window, on a day that is not a closed date, local time."""

    timezone: str = Field(max_length=64, description="IANA time zone, e.g. America/Chicago")
    windows: list[ScheduleWindow] = Field(min_length=1, max_length=28)
    closed_dates: list[ClosedDate] = Field(default_factory=list, max_length=366, description="YYYY-MM-DD, local")

    _zone = field_validator("timezone")(staticmethod(_known_zone))


class Caps(StrictModel):
    concurrency: StrictInt | None = Field(None, ge=1, le=100_000, description="Calls under way at once")
    hourly: StrictInt | None = Field(None, ge=1, le=1_000_000, description="Calls per clock hour")
    daily: StrictInt | None = Field(None, ge=1, le=1_000_000, description="Calls per day")
    monthly: StrictInt | None = Field(None, ge=1, le=100_000_000, description="Calls per calendar month")
    counts: Literal[terms.CONNECTED, terms.CONVERTED] = Field(terms.CONNECTED, description=(
        "connected: a call counts once routed to the profile (a live call once its seller answers); "
        "converted: once it converts"))


class Terms(StrictModel):
    """The terms a profile buys by, beside its criteria."""

    conversion_seconds: StrictInt | None = Field(None, ge=0, le=terms.MAX_CONVERSION_SECONDS, description=(
        "Talk time at which a call converts: only a converted call is billable (default: the platform's "
        "billable threshold, 30)"))
    schedule: Schedule | None = Field(None, description="Hours of operation (none: always open)")
    caps: Caps | None = None
    blocked_callers: list[BlockedCaller] | None = Field(None, max_length=terms.MAX_BLOCKED_CALLERS, description=(
        "Callers never offered to this profile: E.164 numbers or prefixes"))
    record_calls: StrictBool | None = Field(None, description="Record live calls routed to it, from answer, dual channel")


_AUCTIONS_ONLY = ("A profile without bid_amount or without destination_number bids in auctions only: "
                  "instant routing and live calls need both.")


class RtbConfig(StrictModel):
    """The seller's own bidding server: each call the profile matches is offered to it (a signed POST of the
    call's facts), and its answer `{"bid_amount", "destination_number"?, "bid_id"?}` within timeout_ms is the
    profile's price for that call."""

    url: str = Field(max_length=MAX_URL_LENGTH, pattern=r"^https?://", json_schema_extra={"format": "uri"},
                     description="https on a public host name (under `make run` only, http on the loopback too)")
    timeout_ms: StrictInt = Field(rtb.DEFAULT_TIMEOUT_MS, ge=rtb.MIN_TIMEOUT_MS, le=rtb.MAX_TIMEOUT_MS, description=(
        "How long the bidder has to answer; a later answer is no bid"))
    send_caller_id: StrictBool = Field(False, description="Send the caller's number in the ping (caller_id)")


def _rtb_or_price(model):
    if model.rtb is not None and model.bid_amount is not None:
        raise PydanticCustomError("rtb_with_bid_amount", "A profile has either rtb or a bid_amount, not both")
    return model


class BidProfileRequest(Terms):
    criteria: Criteria = Field(default_factory=Criteria)
    bid_amount: PositiveMoneyIn | None = Field(
        None, description="What the seller pays for a call routed to it without an auction. " + _AUCTIONS_ONLY)
    destination_number: PhoneNumber | None = Field(
        None, description="Where the seller's calls ring (E.164). " + _AUCTIONS_ONLY)
    rtb: RtbConfig | None = Field(None, description=(
        "Instead of bid_amount: the seller's bidding server names the price of each call. Needs "
        "destination_number (rung unless the bidder's answer names another)"))
    active: StrictBool = True

    @model_validator(mode="after")
    def _rtb_needs_a_number(self):
        _rtb_or_price(self)
        if self.rtb is not None and self.destination_number is None:
            raise PydanticCustomError("rtb_without_destination", "A profile with rtb needs a destination_number")
        return self


class BidProfileUpdate(Terms):
    criteria: Criteria | None = None
    bid_amount: PositiveMoneyIn | None = Field(None, description="A static price (an RTB profile's bidder goes)")
    destination_number: PhoneNumber | None = None
    rtb: RtbConfig | None = Field(None, description="A bidding server instead of the static price (its secret stays)")
    active: StrictBool | None = None

    _one_price = model_validator(mode="after")(_rtb_or_price)


class GeographyOut(ResponseModel):
    countries: list[str] = []
    states: list[str] = []


class CriteriaOut(ResponseModel):
    # model_construct: the same empty default, without building GeographyOut's validator at import.
    geography: GeographyOut = GeographyOut.model_construct()
    call_type: list[str] = []
    keywords: list[str] = []
    max_budget: MoneyOut | None = None
    verified_only: bool = False
    duplicate_window_hours: int | None = None


class ScheduleWindowOut(ResponseModel):
    days: list[str]
    start_time: str
    end_time: str


class ScheduleOut(ResponseModel):
    timezone: str
    windows: list[ScheduleWindowOut]
    closed_dates: list[str] = []


class CapsOut(ResponseModel):
    concurrency: int | None = None
    hourly: int | None = None
    daily: int | None = None
    monthly: int | None = None
    counts: str = terms.CONNECTED


class UsageOut(ResponseModel):
    concurrent: int = Field(description="Its calls under way (queued, ringing or in progress)")
    hour: int = Field(description="Counted this clock hour, in its schedule's time zone (UTC without one)")
    day: int
    month: int


class EligibilityQuery(StrictModel):
    from_number: PhoneNumber
    to_number: PhoneNumber


class EligibilityOut(ResponseModel):
    eligible: bool
    reasons: list[str] = Field(description="Every reason it would not take such a call now (empty when eligible)")


class RtbOut(ResponseModel):
    url: str
    timeout_ms: int
    send_caller_id: bool
    secret: str | None = Field(None, description=(
        "Signs its pings (X-Exchange-Signature, as webhooks are signed): shown once, when the profile is made"))


class BidProfileOut(ResponseModel):
    id: str = Field(validation_alias="profile_id")
    seller_id: str
    criteria: CriteriaOut
    bid_amount: MoneyOut | None = Field(description="null: the profile bids in auctions only")
    destination_number: str | None = Field(description="null: the profile bids in auctions only")
    active: bool
    paused: Annotated[bool, BeforeValidator(bool)] = Field(False, description=(
        "Taken out of the market while its seller is suspended or deactivated; active again after"))
    conversion_seconds: int
    schedule: ScheduleOut | None
    caps: CapsOut | None
    blocked_callers: list[str]
    record_calls: bool
    rtb: RtbOut | None = Field(None, description="Its bidding server (null: it bids bid_amount)")
    usage: UsageOut | None = Field(None, description="Its calls in each cap window now (GET /bid-profiles/{id})")
    created_at: datetime
    updated_at: datetime


class CreateAuction(StrictModel):
    call_id: str = Field(pattern=UUID_PATTERN)
    reserve_price: NonNegativeMoneyIn = Decimal(0)
    duration: StrictInt = Field(30, ge=1, le=MAX_DURATION_SECONDS,
                                description="Seconds until the auction closes by itself")

    @field_validator("reserve_price", mode="before")
    @classmethod
    def _not_negative(cls, value: object) -> object:
        try:
            negative = Decimal(str(value)) < 0
        except ArithmeticError:
            return value
        if negative:
            raise PydanticCustomError("negative_reserve", "Reserve price cannot be negative")
        return value


class BidOut(ResponseModel):
    id: str = Field(validation_alias="bid_id")
    auction_id: str
    seller_id: str
    profile_id: str
    amount: MoneyOut
    placed_at: datetime


class WinnerOut(ResponseModel):
    seller_id: str
    profile_id: str
    amount: MoneyOut
    placed_at: datetime


class WinningBidOut(ResponseModel):
    id: str | None = Field(None, validation_alias="bid_id", description="The winning bid")
    seller_id: str
    amount: MoneyOut


class AuctionCallOut(ResponseModel):
    country: str | None
    state: str | None
    call_type: str | None
    keywords: list[str]


class AuctionOut(ResponseModel):
    id: str = Field(validation_alias="auction_id")
    call_id: str
    status: Literal[ACTIVE, COMPLETED] = Field(description="active while it takes bids, completed once closed")
    reserve_price: MoneyOut
    ends_at: datetime
    bid_count: int
    winner: WinnerOut | None
    winning_bid: WinningBidOut | None = Field(None, validation_alias="winner",
                                              description="The winning bid once closed (null: no valid bid)")
    closed_at: datetime | None
    created_at: datetime
    call_facts: AuctionCallOut | None = Field(None, description="What the call states (never its numbers)")
    bids: list[BidOut] | None = None

    @field_validator("status", mode="before")
    @classmethod
    def _as_shown(cls, value: object) -> object:
        return SHOWN_AS.get(value, value)


class AuctionListQuery(PageQuery):
    status: Literal[ACTIVE] = Field(ACTIVE, description="active: the open auctions your active profiles match")


class PlaceBid(StrictModel):
    auction_id: str = Field(pattern=UUID_PATTERN)
    amount: PositiveMoneyIn


class CallListQuery(UserPageQuery):
    status: CallStatus | None = None


class AuctionCloseMessage(StrictModel):
    auction_id: str = Field(pattern=UUID_PATTERN)
