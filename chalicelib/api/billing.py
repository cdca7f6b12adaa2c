"""The caller's billing account, statement and balance."""
from chalicelib.http import Api, Call
from chalicelib.persistence.ledger import get_account, list_entries
from chalicelib.schemas.billing import BalanceOut, BillingAccountOut, LedgerEntryOut
from chalicelib.schemas.common import PageQuery

api = Api(__name__, tag="billing")


@api.route("/billing/account", "GET", summary="The caller's billing account", response=BillingAccountOut)
def account(call: Call):
    return get_account(call.principal.user_id)


@api.route("/billing/transactions", "GET", summary="Ledger entries of the caller's account, newest first",
           query=PageQuery, response=LedgerEntryOut, paginated=True)
def transactions(call: Call):
    q = call.query
    return list_entries(call.principal.user_id, q.page, q.limit, q.next_token)


@api.route("/account/balance", "GET", summary="Prepaid balance and accrued earnings", response=BalanceOut)
def balance(call: Call):
    return get_account(call.principal.user_id)
