"""Seed 000 §3.1, "AuthService" (tests/unit/services/auth.service.test.ts): unit tests of the seed's auth
service with mocked Prisma, Redis, bcrypt and JWT. Each case has an HTTP meaning here, so each is run over the
API with the seed's payloads; what the mocks were asked (bcrypt rounds, Prisma calls) becomes what is stored.
"""
from chalicelib.persistence.tables import SessionModel, UserModel
from tests.helpers import error_fields

VALID_REGISTRATION = {"email": "test@example.com", "password": "Test123!", "first_name": "Test",
                      "last_name": "User", "accept_terms": True}
VALID_LOGIN = {"email": "test@example.com", "password": "Test123!",
               "device_info": {"platform": "web", "browser": "chrome", "version": "91.0"}}


def sent_emails_to(address: str) -> list:
    """Messages moto's SES accepted for `address` (issue 11 part 3 sends mail through Amazon SES)."""
    from moto.ses.models import ses_backends

    return [message for account in ses_backends.values() for backend in account.values()
            for message in backend.sent_messages if address in str(getattr(message, "destinations", ""))]


def test_auth_service_register_should_successfully_register_a_new_user(api):
    """AuthService › register › should successfully register a new user"""
    result = api.post("/auth/register", VALID_REGISTRATION)
    assert result.status == 201, result.body
    assert result.body["success"] is True
    user_id = result.data["user"]["id"]
    assert result.data["tokens"]["access_token"] and result.data["tokens"]["refresh_token"]
    stored = UserModel.get(user_id)
    assert stored.email == "test@example.com"
    assert stored.password_hash != "Test123!" and "Test123!" not in stored.password_hash  # hashed
    session_id = result.data["tokens"]["refresh_token"].split(".")[0]
    assert SessionModel.get(session_id).user_id == user_id
    assert sent_emails_to("test@example.com"), "a verification email is sent"


def test_auth_service_register_should_throw_error_if_user_already_exists(api):
    """AuthService › register › should throw error if user already exists"""
    assert api.post("/auth/register", VALID_REGISTRATION).status == 201
    again = api.post("/auth/register", VALID_REGISTRATION)
    assert again.status == 409 and again.error["code"] == "EMAIL_EXISTS"
    assert UserModel.count() == 1  # no second user created


def test_auth_service_register_should_validate_email_format(api):
    """AuthService › register › should validate email format"""
    result = api.post("/auth/register", {**VALID_REGISTRATION, "email": "invalid-email"})
    assert result.status == 400 and error_fields(result) == {"email"}
    assert result.error["details"][0]["message"] == "Must be a valid email address"
    assert UserModel.count() == 0


def test_auth_service_register_should_validate_password_strength(api):
    """AuthService › register › should validate password strength"""
    result = api.post("/auth/register", {**VALID_REGISTRATION, "password": "weak"})
    assert result.status == 400 and error_fields(result) == {"password"}
    assert result.error["details"][0]["message"] == "Password must be 8 to 128 characters long"
    assert UserModel.count() == 0


def test_auth_service_register_should_validate_required_fields(api):
    """AuthService › register › should validate required fields"""
    result = api.post("/auth/register", {**VALID_REGISTRATION, "first_name": ""})
    assert result.status == 400 and error_fields(result) == {"first_name"}
    assert UserModel.count() == 0


def test_auth_service_login_should_successfully_login_with_valid_credentials(api):
    """AuthService › login › should successfully login with valid credentials"""
    registered = api.register(email="test@example.com", password="Test123!")
    assert UserModel.get(registered["user"]["id"]).last_login_at is None
    result = api.post("/auth/login", VALID_LOGIN)
    assert result.status == 200, result.body
    assert result.body["success"] is True
    assert result.data["user"]["id"] == registered["user"]["id"]
    assert result.data["tokens"]["access_token"]
    assert UserModel.get(registered["user"]["id"]).last_login_at is not None  # lastLoginAt updated


def test_auth_service_login_should_reject_invalid_credentials(api):
    """AuthService › login › should reject invalid credentials (no such user)"""
    result = api.post("/auth/login", VALID_LOGIN)
    assert result.status == 401 and result.error["code"] == "INVALID_CREDENTIALS"
    assert result.error["message"] == "Invalid email or password"


def test_auth_service_login_should_reject_inactive_user(api):
    """AuthService › login › should reject inactive user (deactivated in the store, as the seed's mock has it)"""
    user = api.register(email="test@example.com", password="Test123!")
    UserModel(user_id=user["user"]["id"]).update(actions=[UserModel.status.set("deactivated")])
    result = api.post("/auth/login", VALID_LOGIN)
    assert result.status == 403 and result.error["code"] == "ACCOUNT_DEACTIVATED"
    assert "deactivated" in result.error["message"].lower()


def test_auth_service_login_should_reject_suspended_user(api, admin):
    """AuthService › login › should reject suspended user"""
    user = api.register(email="test@example.com", password="Test123!")
    suspended = api.put(f"/admin/users/{user['user']['id']}/suspend", {"reason": "Policy violation"},
                        token=admin["token"])
    assert suspended.status == 200
    result = api.post("/auth/login", VALID_LOGIN)
    assert result.status == 403 and result.error["type"] == "AUTHORIZATION_ERROR"
    assert "suspended" in result.error["message"].lower()


def test_auth_service_refresh_token_should_successfully_refresh_valid_token(api):
    """AuthService › refreshToken › should successfully refresh valid token"""
    user = api.register()
    old = user["tokens"]["refresh_token"]
    session_id = old.split(".")[0]
    result = api.post("/auth/refresh", {"refresh_token": old})
    assert result.status == 200 and result.body["success"] is True
    assert result.data["access_token"] and result.data["refresh_token"] != old
    # The same session, now with the new token: the old one no longer refreshes.
    assert result.data["refresh_token"].split(".")[0] == session_id
    assert api.post("/auth/refresh", {"refresh_token": old}).status == 401


def test_auth_service_refresh_token_should_successfully_refresh_valid_token_extends_the_session(api, clock):
    """AuthService › refreshToken › should successfully refresh valid token: the seed's refresh writes the
    session's new expiresAt, so a session in use never expires. Ours has an absolute lifetime (a
    difference on purpose: README.md, "Where we differ from the seeds"): refreshing works within it, and not after it."""
    token = api.register()["tokens"]["refresh_token"]
    clock.advance(days=20)
    refreshed = api.post("/auth/refresh", {"refresh_token": token})
    assert refreshed.status == 200, refreshed.body
    clock.advance(days=20)
    expired = api.post("/auth/refresh", {"refresh_token": refreshed.data["refresh_token"]})
    assert expired.status == 401 and expired.error["code"] == "REFRESH_TOKEN_EXPIRED"


def test_auth_service_refresh_token_should_reject_expired_refresh_token(api, clock):
    """AuthService › refreshToken › should reject expired refresh token"""
    user = api.register()
    clock.advance(days=31)  # refresh tokens live 30 days
    result = api.post("/auth/refresh", {"refresh_token": user["tokens"]["refresh_token"]})
    assert result.status == 401 and result.error["type"] == "AUTHENTICATION_ERROR"
    assert result.error["code"] == "REFRESH_TOKEN_EXPIRED"


def test_auth_service_refresh_token_should_reject_revoked_refresh_token(api):
    """AuthService › refreshToken › should reject revoked refresh token"""
    user = api.register()
    assert api.post("/auth/logout", {"refresh_token": user["tokens"]["refresh_token"]},
                    token=user["token"]).status == 200
    result = api.post("/auth/refresh", {"refresh_token": user["tokens"]["refresh_token"]})
    assert result.status == 401 and result.error["type"] == "AUTHENTICATION_ERROR"
