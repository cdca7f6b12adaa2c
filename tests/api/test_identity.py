"""Register, login, refresh rotation, logout, profile: seed 000 §3.1/§4.1 and seed 003's security tests."""
import pytest


from chalicelib.domain import tokens
from chalicelib.persistence.tables import AccountTokenModel
from chalicelib.persistence.tables import AccountModel, SessionModel, UserModel
from tests.helpers import PASSWORD, error_fields, registration
from tests.mailbox import last_mail, mail_count, mailed_token
from tests.overrides import settings  # noqa: F401 - fixture


def test_register_creates_user_tokens_and_usd_billing_account(api):
    body = registration("seller", email="New.User@Example.com")
    result = api.post("/auth/register", body)
    assert result.status == 201
    user = result.data["user"]
    assert user["email"] == "new.user@example.com"
    assert user["account_type"] == "seller" and user["status"] == "active" and user["email_verified"] is False
    assert "password" not in str(result.body).lower().replace("password_", "")
    tokens = result.data["tokens"]
    assert tokens["access_token"] and tokens["refresh_token"] and tokens["expires_in"] == 900
    stored = UserModel.get(user["id"])
    assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash
    account = AccountModel.get(user["id"])
    assert account.currency == "USD" and account.balance == 0 and account.earnings == 0


def test_duplicate_email_is_409_and_writes_nothing(api):
    body = registration()
    assert api.post("/auth/register", body).status == 201
    again = api.post("/auth/register", {**body, "email": body["email"].upper(), "first_name": "Other"})
    assert again.status == 409
    assert again.error["type"] == "CONFLICT" and again.error["code"] == "EMAIL_EXISTS"
    assert error_fields(again) == {"email"}
    assert UserModel.count() == 1 and AccountModel.count() == 1  # and one user (the platform's shard accounts open with their first posting)


@pytest.mark.parametrize("overrides, field", [
    ({"email": "invalid-email"}, "email"),
    ({"password": "weak"}, "password"),
    ({"password": "nouppercase1!"}, "password"),
    ({"accept_terms": False}, "accept_terms"),
    ({"account_type": "admin"}, "account_type"),
    ({"first_name": ""}, "first_name"),
    ({"first_name": "<script>alert('XSS')</script>"}, "first_name"),
    ({"company": "<img src=x onerror=alert('XSS')>"}, "company"),
    ({"last_name": "javascript:alert('XSS')"}, "last_name"),
    ({"last_name": "Bell\x00"}, "last_name"),
    ({"role": "admin"}, "role"),
    ({"balance": 1000}, "balance"),
    ({"id": "6f1c1d8e-3c7b-4b8e-9a3a-1d2e3f4a5b6c"}, "id"),
])
def test_registration_validation_names_the_field(api, overrides, field):
    result = api.post("/auth/register", registration(**overrides))
    assert result.status == 400
    assert result.error["type"] == "VALIDATION_ERROR"
    assert field in error_fields(result)
    assert "<script>" not in str(result.body) and "javascript:" not in str(result.body)
    assert UserModel.count() == 0


def test_missing_fields_are_each_reported(api):
    result = api.post("/auth/register", {})
    assert result.status == 400
    # account_type is not among them: it defaults to buyer (tests/api/test_seed_field_names.py).
    assert {"email", "password", "first_name", "last_name", "accept_terms"} <= error_fields(result)


@pytest.mark.parametrize("raw, headers, status, code", [
    ("{not json", {}, 400, "INVALID_JSON"),
    ("[1, 2]", {}, 400, "INVALID_BODY"),
    ('"text"', {}, 400, "INVALID_BODY"),
    ("email=a", {"Content-Type": "application/x-www-form-urlencoded"}, 415, "UNSUPPORTED_MEDIA_TYPE"),
    ('{"email": "' + "a" * 70_000 + '"}', {}, 413, "PAYLOAD_TOO_LARGE"),
])
def test_malformed_bodies_get_the_error_envelope(api, raw, headers, status, code):
    result = api.post("/auth/register", raw=raw, headers=headers)
    assert result.status == status
    assert result.body["success"] is False
    assert result.error["code"] == code and result.error["type"] == "VALIDATION_ERROR"


def test_login_updates_last_login_and_issues_tokens(api):
    user = api.register()
    result = api.post("/auth/login", {"email": user["email"], "password": PASSWORD})
    assert result.status == 200
    assert result.data["user"]["email"] == user["email"]
    assert result.data["user"]["last_login_at"] is not None
    assert api.get("/profile", token=result.data["tokens"]["access_token"]).status == 200


def test_login_never_reveals_whether_the_email_exists(api):
    user = api.register()
    wrong_password = api.post("/auth/login", {"email": user["email"], "password": "Wr0ng!Password"})
    unknown_email = api.post("/auth/login", {"email": "nobody@example.com", "password": PASSWORD})
    assert wrong_password.status == unknown_email.status == 401
    assert wrong_password.error == {**unknown_email.error, "request_id": wrong_password.error["request_id"]}


def test_deactivated_user_cannot_log_in(api):
    user = api.register()
    UserModel(user_id=user["user"]["id"]).update(actions=[UserModel.status.set("deactivated")])
    result = api.post("/auth/login", {"email": user["email"], "password": PASSWORD})
    assert result.status == 403 and result.error["code"] == "ACCOUNT_DEACTIVATED"


def test_profile_needs_a_valid_token(api):
    user = api.register()
    assert api.get("/profile").status == 401
    assert api.get("/profile", token="invalid-token").status == 401
    assert api.get("/profile", headers={"Authorization": "Basic abc"}).status == 401
    result = api.get("/profile", token=user["token"])
    assert result.status == 200 and result.data["id"] == user["user"]["id"]


def test_expired_access_token_is_refused(api, clock):
    user = api.register()
    clock.advance(minutes=15)
    result = api.get("/profile", token=user["token"])
    assert result.status == 401 and result.error["type"] == "AUTHENTICATION_ERROR"
    assert result.headers.get("www-authenticate") == "Bearer"


def test_refresh_rotates_and_reuse_revokes_the_family(api):
    user = api.register()
    old = user["tokens"]["refresh_token"]
    first = api.post("/auth/refresh", {"refresh_token": old})
    assert first.status == 200
    new_refresh, new_access = first.data["refresh_token"], first.data["access_token"]
    assert new_refresh != old and new_access != user["token"]
    assert api.get("/profile", token=new_access).status == 200

    reused = api.post("/auth/refresh", {"refresh_token": old})
    assert reused.status == 401 and reused.error["code"] == "REFRESH_TOKEN_REUSED"
    # The whole family is gone: the newest refresh token and its access token too.
    assert api.post("/auth/refresh", {"refresh_token": new_refresh}).status == 401
    assert api.get("/profile", token=new_access).status == 401


@pytest.mark.parametrize("token", ["invalid_token", "6f1c1d8e-3c7b-4b8e-9a3a-1d2e3f4a5b6c.guess"])
def test_unknown_refresh_tokens_are_401(api, token):
    result = api.post("/auth/refresh", {"refresh_token": token})
    assert result.status == 401 and result.error["type"] == "AUTHENTICATION_ERROR"


def test_guessing_a_sessions_secret_does_not_revoke_it(api):
    user = api.register()
    session_id = user["tokens"]["refresh_token"].split(".")[0]
    assert api.post("/auth/refresh", {"refresh_token": f"{session_id}.guess"}).status == 401
    assert api.post("/auth/refresh", {"refresh_token": user["tokens"]["refresh_token"]}).status == 200


def test_expired_refresh_token_is_401(api, clock):
    user = api.register()
    clock.advance(days=31)
    result = api.post("/auth/refresh", {"refresh_token": user["tokens"]["refresh_token"]})
    assert result.status == 401 and result.error["code"] == "REFRESH_TOKEN_EXPIRED"


def test_logout_revokes_the_session_and_its_access_token(api):
    user = api.register()
    result = api.post("/auth/logout", {"refresh_token": user["tokens"]["refresh_token"]}, token=user["token"])
    assert result.status == 200 and result.data == {"revoked_sessions": 1}
    session_id = user["tokens"]["refresh_token"].split(".")[0]
    assert SessionModel.get(session_id).revoked is True
    assert api.get("/profile", token=user["token"]).status == 401
    assert api.post("/auth/refresh", {"refresh_token": user["tokens"]["refresh_token"]}).status == 401


def test_logout_without_body_ends_the_current_session(api):
    user = api.register()
    assert api.call("POST", "/auth/logout", token=user["token"]).status == 200
    assert api.get("/profile", token=user["token"]).status == 401


def test_logout_all_devices(api):
    user = api.register()
    other = api.post("/auth/login", {"email": user["email"], "password": PASSWORD}).data["tokens"]
    result = api.post("/auth/logout", {"all_devices": True}, token=user["token"])
    assert result.data == {"revoked_sessions": 2}
    assert api.get("/profile", token=other["access_token"]).status == 401
    assert api.post("/auth/refresh", {"refresh_token": other["refresh_token"]}).status == 401


def test_cannot_log_out_someone_elses_session(api):
    alice, bob = api.register(), api.register()
    result = api.post("/auth/logout", {"refresh_token": bob["tokens"]["refresh_token"]}, token=alice["token"])
    assert result.data == {"revoked_sessions": 0}
    assert api.get("/profile", token=bob["token"]).status == 200


def test_at_most_five_active_sessions_oldest_revoked(api, clock):
    user = api.register()  # session 1
    sessions = [user["tokens"]]
    for _ in range(5):
        clock.advance(seconds=1)
        sessions.append(api.post("/auth/login", {"email": user["email"], "password": PASSWORD}).data["tokens"])
    assert api.get("/profile", token=sessions[0]["access_token"]).status == 401
    assert all(api.get("/profile", token=s["access_token"]).status == 200 for s in sessions[1:])
    active = [s for s in SessionModel.by_user.query(user["user"]["id"]) if not s.revoked]
    assert len(active) == 5


def test_only_hashes_of_refresh_tokens_are_stored(api):
    user = api.register()
    session_id, secret = user["tokens"]["refresh_token"].split(".")
    stored = SessionModel.get(session_id)
    assert secret not in stored.token_hash and len(stored.token_hash) == 64


def test_concurrent_refreshes_with_one_token_cannot_both_succeed(api):
    """Rotation is a conditional write: of many simultaneous uses of one token, at most one wins."""
    import threading

    from chalicelib.domain.errors import AuthenticationFailed
    from chalicelib.services import sessions

    token = api.register()["tokens"]["refresh_token"]
    start, outcomes = threading.Barrier(8), []

    def use() -> None:
        start.wait()
        try:
            sessions.refresh(token)
            outcomes.append("ok")
        except AuthenticationFailed as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") <= 1
    assert len(outcomes) == 8


def test_unexpected_errors_are_a_500_envelope_without_internals(api, monkeypatch):
    from chalicelib.services import sessions

    def explode(*args, **kwargs):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(sessions, "login", explode)
    result = api.post("/auth/login", {"email": "a@example.com", "password": "x"})
    assert result.status == 500
    assert result.error["type"] == "INTERNAL_ERROR" and result.error["request_id"]
    assert "hunter2" not in str(result.body) and "RuntimeError" not in str(result.body)
    assert result.headers["x-request-id"] == result.error["request_id"]


def test_repeated_failed_logins_are_throttled_per_email(api, clock):
    user = api.register()
    for _ in range(5):
        assert api.post("/auth/login", {"email": user["email"], "password": "Wr0ng!Password"}).status == 401
    blocked = api.post("/auth/login", {"email": user["email"], "password": PASSWORD})
    assert blocked.status == 429 and blocked.error["type"] == "RATE_LIMITED"
    assert 0 < int(blocked.headers["retry-after"]) <= 900
    # Unknown emails are throttled the same way, so throttling reveals nothing either.
    for _ in range(5):
        api.post("/auth/login", {"email": "nobody@example.com", "password": "Wr0ng!Password"})
    assert api.post("/auth/login", {"email": "nobody@example.com", "password": "x"}).status == 429
    clock.advance(minutes=15)
    assert api.post("/auth/login", {"email": user["email"], "password": PASSWORD}).status == 200


def test_deeply_nested_json_is_invalid_json_not_500(api):
    result = api.post("/auth/register", raw="[" * 20_000 + "]" * 20_000)
    assert result.status == 400
    assert result.error["code"] == "INVALID_JSON" and result.error["type"] == "VALIDATION_ERROR"
    nested_in_object = api.post("/auth/register", raw='{"email": ' + "[" * 20_000 + "]" * 20_000 + "}")
    assert nested_in_object.status == 400 and nested_in_object.error["code"] == "INVALID_JSON"


def test_unknown_field_names_are_not_echoed(api):
    markup = "<script>alert(1)</script>"
    result = api.post("/auth/register", registration(**{markup: "x"}))
    assert result.status == 400
    assert [d["code"] for d in result.error["details"]] == ["EXTRA_FORBIDDEN"]
    assert error_fields(result) == {"body"}
    assert "<script" not in result.error["message"] and "<script" not in str(result.body)
    nested = api.post("/auth/register", registration(**{"first_name": {markup: 1}}))
    assert nested.status == 400 and "<script" not in str(nested.body)


def test_unknown_query_names_are_not_echoed(api):
    admin = api.admin()
    result = api.get("/admin/users?%3Cscript%3Ealert(1)%3C%2Fscript%3E=1", token=admin["token"])
    assert result.status == 400
    assert [d["code"] for d in result.error["details"]] == ["EXTRA_FORBIDDEN"]
    assert error_fields(result) == {"query"} and "<script" not in str(result.body)


def test_email_messages_do_not_echo_the_input(api):
    result = api.post("/auth/register", registration(email="a<b>c@example.com"))
    assert result.status == 400 and error_fields(result) == {"email"}
    assert "<" not in str(result.body) and ">" not in str(result.body)
    assert result.error["details"][0]["message"] == "Must be a valid email address"


def test_a_route_without_a_body_refuses_one(api):
    admin = api.admin()
    user = api.register()
    path = f"/admin/users/{user['user']['id']}/reactivate"
    refused = api.put(path, {"role": "admin"}, token=admin["token"])
    assert refused.status == 400
    assert refused.error["code"] == "UNEXPECTED_BODY" and "role" not in str(refused.body)
    assert api.put(path, raw="not json", token=admin["token"]).status == 400
    assert api.put(path, {}, token=admin["token"]).status == 200
    assert api.put(path, token=admin["token"]).status == 200


def test_a_route_without_query_parameters_refuses_them(api):
    user = api.register()
    refused = api.get("/profile?role=admin", token=user["token"])
    assert refused.status == 400
    assert refused.error["code"] == "UNKNOWN_QUERY_PARAMETER" and "role" not in str(refused.body)
    markup = api.get("/profile?%3Cscript%3E=1", token=user["token"])
    assert markup.status == 400 and "<script" not in str(markup.body)
    assert api.get("/profile", token=user["token"]).status == 200


def test_registration_writes_the_first_session_with_the_user_so_a_retry_is_not_409(api, monkeypatch):
    from chalicelib.services import sessions

    original = sessions.new_session
    taken = None

    def colliding_session(user_id, now):  # the session write fails: its id is already taken
        nonlocal taken
        session, secret = original(user_id, now)
        if taken is None:
            session.save()
            taken = session.session_id
        session.session_id = taken
        return session, secret

    monkeypatch.setattr(sessions, "new_session", colliding_session)
    body = registration()
    failed = api.post("/auth/register", body)
    assert failed.status == 500
    assert UserModel.count() == 0 and AccountModel.count() == 0  # nothing of the user

    monkeypatch.setattr(sessions, "new_session", original)
    retried = api.post("/auth/register", body)
    assert retried.status == 201
    session_id = retried.data["tokens"]["refresh_token"].split(".")[0]
    assert SessionModel.get(session_id).user_id == retried.data["user"]["id"]
    assert api.get("/profile", token=retried.data["tokens"]["access_token"]).status == 200


def test_concurrent_logins_cannot_exceed_five_active_sessions(api, settings):
    """Each login rewrites the user's list of sessions on condition it is unchanged: of logins at the same
    moment one commits at a time, so evictions are counted against every session, not a stale view."""
    import threading

    from chalicelib.services import sessions

    settings(LOGIN_MAX_FAILURES=10)  # 10 password checks in flight at once: more than the throttle lets through

    user = api.register()
    user_id = user["user"]["id"]
    start, outcomes = threading.Barrier(10), []

    def log_in() -> None:
        start.wait()
        try:
            sessions.login(user["email"], PASSWORD)
            outcomes.append("ok")
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            outcomes.append(repr(error))

    threads = [threading.Thread(target=log_in) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == ["ok"] * 10
    written = list(SessionModel.by_user.query(user_id))
    assert len(written) == 11
    active = [s for s in written if not s.revoked]
    assert len(active) == 5
    assert all(s.revoked_reason == "session_limit" for s in written if s.revoked)
    assert sorted(sessions.session_ids(user_id)) == sorted(s.session_id for s in active)


# --- account self-service ----------------------------------------------------------------------

NEW_PASSWORD = "N3w!Passw0rd-2"


def test_registration_mails_a_link_that_verifies_the_email(api):
    user = api.register()
    mail = last_mail(user["email"])
    assert mail.subject == "Verify your email address" and "/verify-email?token=" in mail.body
    token = mailed_token(user["email"], "verify-email")
    assert AccountTokenModel.get(tokens.hash_secret(token)).purpose == "verify_email"  # stored hashed
    assert all(token not in item.token_hash for item in AccountTokenModel.scan())
    verified = api.post("/auth/verify-email", {"token": token})
    assert verified.status == 200 and verified.data["email_verified"] is True
    assert api.get("/profile", token=user["token"]).data["email_verified"] is True
    again = api.post("/auth/verify-email", {"token": token})  # single use
    assert again.status == 400 and again.error["code"] == "INVALID_TOKEN"
    assert error_fields(again) == {"token"}


def test_change_password_needs_the_current_one_and_revokes_other_sessions(api):
    user = api.register()
    other = api.post("/auth/login", {"email": user["email"], "password": PASSWORD}).data["tokens"]
    wrong = api.post("/auth/change-password", {"current_password": "Wr0ng!Password", "new_password": NEW_PASSWORD},
                     token=user["token"])
    assert wrong.status == 400 and wrong.error["code"] == "INVALID_CURRENT_PASSWORD"
    weak = api.post("/auth/change-password", {"current_password": PASSWORD, "new_password": "weak"},
                    token=user["token"])
    assert weak.status == 400 and error_fields(weak) == {"new_password"}
    same = api.post("/auth/change-password", {"current_password": PASSWORD, "new_password": PASSWORD},
                    token=user["token"])
    assert same.status == 400 and same.error["code"] == "PASSWORD_UNCHANGED"
    changed = api.post("/auth/change-password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                       token=user["token"])
    assert changed.status == 200 and changed.data == {"revoked_sessions": 1}
    assert api.get("/profile", token=user["token"]).status == 200  # this session stays
    assert api.get("/profile", token=other["access_token"]).status == 401  # the other one ended
    assert api.post("/auth/refresh", {"refresh_token": other["refresh_token"]}).status == 401
    assert api.post("/auth/login", {"email": user["email"], "password": PASSWORD}).status == 401
    assert api.post("/auth/login", {"email": user["email"], "password": NEW_PASSWORD}).status == 200


def test_forgot_password_answers_the_same_whether_or_not_the_email_exists(api):
    user = api.register()
    known = api.post("/auth/forgot-password", {"email": user["email"].upper()})
    unknown = api.post("/auth/forgot-password", {"email": "nobody-here@example.com"})
    assert known.status == unknown.status == 202
    assert known.body == unknown.body
    assert last_mail(user["email"]).subject == "Reset your password"
    assert mail_count("nobody-here@example.com") == 0


def test_reset_password_sets_it_once_and_revokes_every_session(api):
    user = api.register()
    api.post("/auth/forgot-password", {"email": user["email"]})
    token = mailed_token(user["email"], "reset-password")
    reset = api.post("/auth/reset-password", {"token": token, "new_password": NEW_PASSWORD})
    assert reset.status == 200 and reset.data == {"revoked_sessions": 1}
    assert api.get("/profile", token=user["token"]).status == 401
    assert api.post("/auth/login", {"email": user["email"], "password": NEW_PASSWORD}).status == 200
    reused = api.post("/auth/reset-password", {"token": token, "new_password": "An0ther!Passw0rd"})
    assert reused.status == 400 and reused.error["code"] == "INVALID_TOKEN"


def test_a_reset_link_dies_after_an_hour_and_when_the_password_changes(api, clock):
    user = api.register()
    api.post("/auth/forgot-password", {"email": user["email"]})
    expiring = mailed_token(user["email"], "reset-password")
    clock.advance(minutes=60)
    late = api.post("/auth/reset-password", {"token": expiring, "new_password": NEW_PASSWORD})
    assert late.status == 400 and late.error["code"] == "INVALID_TOKEN"
    api.post("/auth/forgot-password", {"email": user["email"]})
    older = mailed_token(user["email"], "reset-password")
    api.post("/auth/forgot-password", {"email": user["email"]})
    newer = mailed_token(user["email"], "reset-password")
    assert api.post("/auth/reset-password", {"token": newer, "new_password": NEW_PASSWORD}).status == 200
    # The password it was issued against is gone: the other link is void.
    assert api.post("/auth/reset-password", {"token": older, "new_password": "An0ther!Passw0rd"}).status == 400


def test_self_service_bodies_are_validated(api):
    assert api.post("/auth/forgot-password", {}).status == 400
    bad = api.post("/auth/reset-password", {"token": "<script>", "new_password": NEW_PASSWORD})
    assert bad.status == 400 and "<script>" not in str(bad.body)
    assert api.post("/auth/verify-email", {"token": "x" * 43}).error["code"] == "INVALID_TOKEN"
    assert api.post("/auth/change-password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}).status == 401


def test_emails_are_held_to_rfc_5321_lengths(api):
    long_local = api.post("/auth/register", registration(email="a" * 65 + "@example.com"))
    assert long_local.status == 400 and error_fields(long_local) == {"email"}
    assert api.post("/auth/register", registration(email="a" * 64 + "@example.com")).status == 201
    long_whole = api.post("/auth/register", registration(email="a@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63
                                                          + "." + "e" * 60 + ".com"))
    assert long_whole.status == 400 and error_fields(long_whole) == {"email"}


def test_guessing_the_current_password_is_throttled_like_logins(api):
    user = api.register()
    guesses = [api.post("/auth/change-password", {"current_password": "Wr0ng!Password", "new_password": NEW_PASSWORD},
                        token=user["token"]) for _ in range(6)]
    assert [g.status for g in guesses] == [400] * 5 + [429]
    right = api.post("/auth/change-password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                     token=user["token"])
    assert right.status == 429 and right.error["code"] == "TOO_MANY_LOGIN_ATTEMPTS"


@pytest.mark.parametrize("email", ["\u001e", "   ", "\t\n"])
def test_a_login_email_blank_once_trimmed_is_refused_not_a_server_error(api, email):
    """Schemathesis found it: such an email became an empty DynamoDB key (500)."""
    result = api.post("/auth/login", {"email": email, "password": "Str0ng!Passw0rd"})
    assert result.status in (400, 401) and result.body["success"] is False
