"""Register, login, refresh, logout, profile; password change and reset, email verification."""
from chalicelib.api.http import AUTH_LIMIT, PUBLIC, Api, Call
from chalicelib.schemas import models
from chalicelib.services import accounts, sessions

schemas = models("identity")  # imported on first use, not at cold start

api = Api(__name__, tag="identity")


@api.route("/auth/register", "POST", summary="Create a buyer or seller account", roles=PUBLIC, limit=AUTH_LIMIT,
           body=schemas.RegisterRequest, response=schemas.AuthOut, status=201, errors=(409,))
def register(call: Call):
    b = call.body
    return accounts.register(b.email, b.password, b.first_name, b.last_name, b.company, b.account_type).as_auth()


@api.route("/auth/login", "POST", summary="Log in with email and password", roles=PUBLIC, limit=AUTH_LIMIT,
           body=schemas.LoginRequest, response=schemas.AuthOut, errors=(401, 403, 429))
def login(call: Call):
    b = call.body
    return sessions.login(b.email, b.password, b.device_info, call.client_ip).as_auth()


@api.route("/auth/refresh", "POST", summary="Rotate a refresh token for new tokens", roles=PUBLIC, limit=AUTH_LIMIT,
           body=schemas.RefreshRequest, response=schemas.TokensOut, errors=(401, 403))
def refresh(call: Call):
    return sessions.refresh(call.body.refresh_token).tokens()


@api.route("/auth/logout", "POST", summary="Revoke this session, or every session", body=schemas.LogoutRequest,
           response=schemas.LogoutOut)
def logout(call: Call):
    revoked = sessions.logout(call.principal, call.body.refresh_token, call.body.all_devices)
    return {"revoked_sessions": revoked}


@api.route("/auth/change-password", "POST", summary="Change the caller's password; other sessions are revoked",
           body=schemas.ChangePasswordRequest, response=schemas.LogoutOut, errors=(409,))
def change_password(call: Call):
    b = call.body
    return {"revoked_sessions": accounts.change_password(call.principal, b.current_password, b.new_password)}


@api.route("/auth/forgot-password", "POST", summary="Mail a password reset link (202 whether or not the email "
           "has an account)", roles=PUBLIC, limit=AUTH_LIMIT, body=schemas.ForgotPasswordRequest,
           response=schemas.AcceptedOut, status=202)
def forgot_password(call: Call):
    accounts.forgot_password(call.body.email)
    return {"message": "If an account has this email, a reset link is on its way"}


@api.route("/auth/resend-verification", "POST", summary="Mail the email verification link again (202 whether or "
           "not the email has an account to verify)", roles=PUBLIC, limit=AUTH_LIMIT,
           body=schemas.ForgotPasswordRequest, response=schemas.AcceptedOut, status=202)
def resend_verification(call: Call):
    accounts.resend_verification(call.body.email)
    return {"message": "If an account with this email waits for verification, a new link is on its way"}


@api.route("/auth/reset-password", "POST", summary="Set a new password with a mailed reset token; every session "
           "is revoked", roles=PUBLIC, limit=AUTH_LIMIT, body=schemas.ResetPasswordRequest,
           response=schemas.LogoutOut)
def reset_password(call: Call):
    return {"revoked_sessions": accounts.reset_password(call.body.token, call.body.new_password)}


@api.route("/auth/verify-email", "POST", summary="Verify the email address with a mailed token", roles=PUBLIC,
           limit=AUTH_LIMIT, body=schemas.VerifyEmailRequest, response=schemas.UserOut)
def verify_email(call: Call):
    return accounts.verify_email(call.body.token)


@api.route("/profile", "GET", summary="The caller's own profile", response=schemas.UserOut)
def profile(call: Call):
    return call.principal.user
