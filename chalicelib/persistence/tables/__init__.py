"""Every table, key, index and TTL of the product, as PynamoDB models: one module per area, each
importing only persistence/base.py. infra/resources.json is generated from ALL_MODELS (infra/generate.py),
and the local runtime and tests create their tables from it, so the three cannot drift."""
from chalicelib.persistence.base import EVERYTHING
from chalicelib.persistence.tables.calls import CallsByOwner, CallsByOwnerStatus, CallsBySeller, OpenDisputes, DisputeAttribute, CallModel
from chalicelib.persistence.tables.compliance import ComplianceRefusalModel, DncEntryModel, ComplianceRuleModel
from chalicelib.persistence.tables.connections import ConnectionModel, UserConnectionsModel, SubscriptionModel
from chalicelib.persistence.tables.exchange import ProfilesBySeller, BidProfileModel, RouteEntryModel, SellerBookModel, ProfileSpendModel, CallerBilledModel, OpenAuctions, AuctionModel, BidsBySeller, BidsById, BidModel
from chalicelib.persistence.tables.identity import UsersByType, AllUsers, TimedSuspensions, UserModel, EmailClaimModel, SessionsByUser, SessionModel, AccountTokenModel
from chalicelib.persistence.tables.ledger import AccountModel, LedgerTransactionModel, LedgerEntryModel
from chalicelib.persistence.tables.limits import RateCounterModel
from chalicelib.persistence.tables.notifications import NotificationModel
from chalicelib.persistence.tables.numbers import NumbersByOwner, BillableNumbers, NumbersByOwnerStatus, NumberModel, PhoneClaimModel, OrdersByOwner, PendingOrders, OrderModel, SearchCacheModel
from chalicelib.persistence.tables.stats import UserStatsModel, CounterModel

ALL_MODELS = (
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
    RateCounterModel,
    AccountTokenModel,
    ConnectionModel,
    UserConnectionsModel,
    SubscriptionModel,
)

__all__ = [
    "ALL_MODELS",
    "AccountModel",
    "AccountTokenModel",
    "AllUsers",
    "AuctionModel",
    "BidModel",
    "BidProfileModel",
    "BidsById",
    "BidsBySeller",
    "BillableNumbers",
    "CallModel",
    "CallerBilledModel",
    "CallsByOwner",
    "CallsByOwnerStatus",
    "CallsBySeller",
    "ComplianceRefusalModel",
    "ComplianceRuleModel",
    "ConnectionModel",
    "CounterModel",
    "DisputeAttribute",
    "DncEntryModel",
    "EVERYTHING",
    "EmailClaimModel",
    "LedgerEntryModel",
    "LedgerTransactionModel",
    "NotificationModel",
    "NumberModel",
    "NumbersByOwner",
    "NumbersByOwnerStatus",
    "OpenAuctions",
    "OpenDisputes",
    "OrderModel",
    "OrdersByOwner",
    "PendingOrders",
    "PhoneClaimModel",
    "ProfileSpendModel",
    "ProfilesBySeller",
    "RateCounterModel",
    "RouteEntryModel",
    "SearchCacheModel",
    "SellerBookModel",
    "SessionModel",
    "SessionsByUser",
    "SubscriptionModel",
    "TimedSuspensions",
    "UserConnectionsModel",
    "UserModel",
    "UserStatsModel",
    "UsersByType",
]
