"""Every table, key, index and TTL of the product, as PynamoDB models: one module per area, each
importing only persistence/base.py. infra/resources.json is generated from ALL_MODELS (infra/generate.py),
and the local runtime and tests create their tables from it, so the three cannot drift."""
from chalicelib.persistence.base import EVERYTHING
from chalicelib.persistence.tables.calls import CallModel, DisputeAttribute
from chalicelib.persistence.tables.compliance import (BlockedCallerModel, ComplianceRefusalModel, ComplianceRuleModel,
                                                      DncEntryModel)
from chalicelib.persistence.tables.connections import ConnectionModel, SubscriptionModel, UserConnectionsModel
from chalicelib.persistence.tables.events import EventModel, OutboxModel
from chalicelib.persistence.tables.exchange import (AuctionModel, BidGateModel, BidModel, BidProfileModel,
                                                    CallerBilledModel, CapCounterModel, OpenAuctionEntryModel,
                                                    ProfileSpendModel, RouteEntryModel, SellerBookModel)
from chalicelib.persistence.tables.funding import BillingProfileModel, TopUpModel
from chalicelib.persistence.tables.identity import AccountTokenModel, EmailClaimModel, SessionModel, UserModel
from chalicelib.persistence.tables.ledger import AccountModel, LedgerEntryModel, LedgerTotalsModel, LedgerTransactionModel
from chalicelib.persistence.tables.limits import RateCounterModel
from chalicelib.persistence.tables.notifications import NotificationModel
from chalicelib.persistence.tables.numbers import NumberModel, OrderModel, PhoneClaimModel, SearchCacheModel
from chalicelib.persistence.tables.payouts import PayoutAccountModel, WithdrawalModel
from chalicelib.persistence.tables.stats import CounterModel, UserStatsModel
from chalicelib.persistence.tables.rtb import RtbPoolModel, RtbReservationModel
from chalicelib.persistence.tables.webhooks import WebhookDeliveryModel, WebhookEndpointsModel

ALL_MODELS = (
    UserModel,
    EmailClaimModel,
    SessionModel,
    AccountModel,
    LedgerTransactionModel,
    LedgerEntryModel,
    LedgerTotalsModel,
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
    BlockedCallerModel,
    BidProfileModel,
    RouteEntryModel,
    SellerBookModel,
    ProfileSpendModel,
    CallerBilledModel,
    CapCounterModel,
    AuctionModel,
    OpenAuctionEntryModel,
    BidModel,
    BidGateModel,
    RateCounterModel,
    AccountTokenModel,
    ConnectionModel,
    UserConnectionsModel,
    SubscriptionModel,
    OutboxModel,
    EventModel,
    BillingProfileModel,
    TopUpModel,
    PayoutAccountModel,
    WithdrawalModel,
    WebhookEndpointsModel,
    WebhookDeliveryModel,
    RtbPoolModel,
    RtbReservationModel,
)

__all__ = ["ALL_MODELS", "AccountModel", "AccountTokenModel", "AuctionModel", "BidGateModel", "BidModel",
           "BidProfileModel", "OpenAuctionEntryModel",
           "BillingProfileModel", "TopUpModel",
           "BlockedCallerModel", "CallModel", "CallerBilledModel", "CapCounterModel", "ComplianceRefusalModel",
           "ComplianceRuleModel", "ConnectionModel",
           "CounterModel", "DisputeAttribute", "DncEntryModel", "EVERYTHING", "EmailClaimModel", "EventModel",
           "LedgerEntryModel", "LedgerTotalsModel", "LedgerTransactionModel", "NotificationModel", "NumberModel", "OrderModel",
           "OutboxModel", "PayoutAccountModel", "PhoneClaimModel", "ProfileSpendModel", "RateCounterModel",
           "RouteEntryModel",
           "SearchCacheModel", "SellerBookModel", "SessionModel", "SubscriptionModel", "UserConnectionsModel",
           "UserModel", "UserStatsModel", "WithdrawalModel",
           "RtbPoolModel", "RtbReservationModel", "WebhookDeliveryModel", "WebhookEndpointsModel"]
