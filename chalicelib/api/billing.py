"""The caller's billing account, statement and balance."""
from chalicelib.api.http import Api, Call
from chalicelib.schemas import models
from chalicelib.services import billing

schemas = models("billing", "common")  # imported on first use, not at cold start

api = Api(__name__, tag="billing")


@api.route("/billing/account", "GET", summary="The caller's billing account", response=schemas.BillingAccountOut)
def account(call: Call):
    return billing.account(call.principal)


@api.route("/billing/transactions", "GET", summary="Ledger entries of the caller's account, newest first (an "
           "admin's: anyone's with ?user_id=, or every account's)", query=schemas.UserPageQuery,
           response=schemas.LedgerEntryOut, paginated=True, errors=(403, 404))
def transactions(call: Call):
    q = call.query
    return billing.statement(call.principal, q.page, q.limit, q.next_token, q.user_id)


@api.route("/account/balance", "GET", summary="Prepaid balance and accrued earnings (pending and available)",
           response=schemas.AccountBalanceOut)
def balance(call: Call):
    return billing.account(call.principal)
