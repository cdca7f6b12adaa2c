"""Admin: users, suspension, credits, the platform's blocked callers."""
from chalicelib.api.http import ADMIN, Api, Call, Reply
from chalicelib.schemas import models
from chalicelib.services import admin, compliance, disputes, holds

schemas = models("admin", "exchange", "common")  # imported on first use, not at cold start

api = Api(__name__, tag="admin")


@api.route("/admin/users", "GET", summary="List users", roles=ADMIN, query=schemas.UserListQuery,
           response=schemas.AdminUserOut, paginated=True)
def list_users(call: Call):
    q = call.query
    return admin.list_users(q.account_type, q.status, q.page, q.limit, q.next_token, q.q)


@api.route("/admin/users/{user_id}", "GET", summary="A user with their billing summary", roles=ADMIN,
           response=schemas.AdminUserOut, errors=(404,))
def get_user(call: Call, user_id: str):
    return admin.user_detail(user_id)


@api.route("/admin/users/{user_id}/suspend", "PUT", summary="Suspend a user", roles=ADMIN,
           body=schemas.SuspendRequest, response=schemas.AdminUserOut, errors=(404,))
def suspend(call: Call, user_id: str):
    b = call.body
    return admin.suspend(call.principal, user_id, b.reason, b.duration_days, b.notify_user)


@api.route("/admin/users/{user_id}/reactivate", "PUT", summary="Reactivate a user", roles=ADMIN,
           response=schemas.AdminUserOut, errors=(404,))
def reactivate(call: Call, user_id: str):
    return admin.reactivate(user_id)


@api.route("/admin/users/{user_id}/credits", "POST", summary="Credit a user's balance (Idempotency-Key header)",
           roles=ADMIN, body=schemas.CreditRequest, headers=schemas.CreditHeaders, response=schemas.CreditOut,
           status=201, errors=(404, 409))
def credit(call: Call, user_id: str):
    return admin.credit(user_id, call.body.amount, call.body.reason, call.headers.idempotency_key)


@api.route("/admin/users/{user_id}", "PUT", summary="Set a user's credit limit, or (de)activate them", roles=ADMIN,
           body=schemas.UserUpdate, response=schemas.AdminUserOut, errors=(403, 404, 409))
def update_user(call: Call, user_id: str):
    return admin.update_user(call.principal, user_id, call.body.credit_limit, call.body.active)


@api.route("/admin/ledger", "GET", summary="The platform's accounts, and proof that every bucket sums to zero",
           roles=ADMIN, response=schemas.AdminLedgerOut)
def ledger(call: Call):
    return admin.books()


@api.route("/admin/ledger/audit", "POST", summary="Audit the books: a job sums every account against the kept "
           "totals; its report comes to your notifications", roles=ADMIN, response=schemas.LedgerAuditOut, status=202)
def audit_ledger(call: Call):
    return admin.request_audit(call.principal)


@api.route("/admin/holds", "GET", summary="Open holds, oldest first: the money held for calls not ended",
           roles=ADMIN, query=schemas.HoldListQuery, response=list[schemas.HoldOut])
def open_holds(call: Call):
    return holds.list_open(call.query.limit)


@api.route("/admin/calls/{call_id}/release", "POST",
           summary="End a stuck call by hand: it expires and its hold goes back (idempotent, kept on the call)",
           roles=ADMIN, body=schemas.ReleaseRequest, response=schemas.CallOut, errors=(404,))
def release_call(call: Call, call_id: str):
    return holds.release_by_hand(call.principal, call_id, call.body.reason)


@api.route("/admin/disputes", "GET", summary="Disputes waiting for a decision, oldest first", roles=ADMIN,
           query=schemas.PageQuery, response=schemas.CallOut, paginated=True)
def open_disputes(call: Call):
    q = call.query
    return disputes.list_open(q.page, q.limit, q.next_token)


@api.route("/admin/disputes/{call_id}", "PUT", summary="Accept (the settlement is reversed) or reject a dispute",
           roles=ADMIN, body=schemas.DisputeDecision, response=schemas.CallOut, errors=(404,))
def decide_dispute(call: Call, call_id: str):
    return disputes.decide(call_id, call.body.decision, call.body.note)


@api.route("/admin/blocked-callers", "GET", summary="Blocked callers (numbers and prefixes), newest first",
           roles=ADMIN, query=schemas.PageQuery, response=schemas.BlockedCallerOut, paginated=True)
def list_blocked_callers(call: Call):
    q = call.query
    return compliance.list_blocked_callers(q.page, q.limit, q.next_token)


@api.route("/admin/blocked-callers", "POST",
           summary="Block a caller's number or a prefix on the whole platform (adding it again changes its reason)",
           roles=ADMIN, body=schemas.BlockedCallerRequest, response=schemas.BlockedCallerOut, status=201,
           errors=(409,))
def block_caller(call: Call):
    return compliance.block_caller(call.principal, call.body.phone_number, call.body.reason)


@api.route("/admin/blocked-callers/{number}", "DELETE", summary="Unblock a number or prefix", roles=ADMIN,
           status=204, errors=(404,))
def unblock_caller(call: Call, number: str):
    compliance.unblock_caller(compliance.number_or_prefix_from_path(number))
    return Reply(status=204)
