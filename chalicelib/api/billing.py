"""The caller's billing account, statement and balance."""
from chalicelib.http import Api, Call
from chalicelib.schemas.billing import BalanceOut, BillingAccountOut, LedgerEntryOut
from chalicelib.schemas.common import PageQuery
from chalicelib.services import billing

api = Api(__name__, tag="billing")


@api.route("/billing/account", "GET", summary="The caller's billing account", response=BillingAccountOut)
def account(call: Call):
    return billing.account(call.principal)


@api.route("/billing/transactions", "GET", summary="Ledger entries of the caller's account, newest first",
           query=PageQuery, response=LedgerEntryOut, paginated=True)
def transactions(call: Call):
    q = call.query
    return billing.statement(call.principal, q.page, q.limit, q.next_token)


@api.route("/account/balance", "GET", summary="Prepaid balance and accrued earnings", response=BalanceOut)
def balance(call: Call):
    return billing.account(call.principal)
