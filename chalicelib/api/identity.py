"""Register, login, refresh, logout, profile."""
from chalicelib.http import PUBLIC, Api, Call
from chalicelib.schemas import models
from chalicelib.services import identity

schemas = models("identity")  # imported on first use, not at cold start

api = Api(__name__, tag="identity")


@api.route("/auth/register", "POST", summary="Create a buyer or seller account", roles=PUBLIC,
           body=schemas.RegisterRequest, response=schemas.AuthOut, status=201, errors=(409,))
def register(call: Call):
    b = call.body
    return identity.register(b.email, b.password, b.first_name, b.last_name, b.company, b.account_type).as_auth()


@api.route("/auth/login", "POST", summary="Log in with email and password", roles=PUBLIC,
           body=schemas.LoginRequest, response=schemas.AuthOut, errors=(401, 403, 429))
def login(call: Call):
    b = call.body
    return identity.login(b.email, b.password, b.device_info).as_auth()


@api.route("/auth/refresh", "POST", summary="Rotate a refresh token for new tokens", roles=PUBLIC,
           body=schemas.RefreshRequest, response=schemas.TokensOut, errors=(401, 403))
def refresh(call: Call):
    return identity.refresh(call.body.refresh_token).tokens()


@api.route("/auth/logout", "POST", summary="Revoke this session, or every session", body=schemas.LogoutRequest,
           response=schemas.LogoutOut)
def logout(call: Call):
    revoked = identity.logout(call.principal, call.body.refresh_token, call.body.all_devices)
    return {"revoked_sessions": revoked}


@api.route("/profile", "GET", summary="The caller's own profile", response=schemas.UserOut)
def profile(call: Call):
    return call.principal.user
