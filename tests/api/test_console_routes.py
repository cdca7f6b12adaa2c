"""What the web console needs from the API (issue 23): its pages and files with a strict CSP, GET /api/v1 (the
index), /config (the WebSocket URL), /docs (the interactive reference), POST /auth/resend-verification and
GET /admin/users?q=. The console itself is driven in a real browser by tests/e2e/test_console.py."""
import json

from tests.mailbox import mail_count, mailed_token
from tests.overrides import settings  # noqa: F401 - fixture


def page(api, path: str):
    response = api.client.http.get(path)
    body = response.body.decode() if isinstance(response.body, bytes) else response.body
    return response.status_code, {k.lower(): v for k, v in response.headers.items()}, body


def test_the_console_pages_are_the_console_under_a_strict_csp(api, settings):  # noqa: F811 - the fixture
    settings(WEBSOCKET_URL="wss://ws.example.com/api")
    for path in ("/", "/verify-email?token=abc", "/reset-password?token=abc"):
        status, headers, body = page(api, path)
        assert status == 200 and headers["content-type"].startswith("text/html"), path
        assert '<script type="module" src="console/app.js">' in body
        csp = headers["content-security-policy"]
        # No inline script, no eval; connections to this origin and the WebSocket API only; never framed.
        assert "script-src 'self';" in csp and "unsafe" not in csp and "default-src 'none'" in csp
        assert "connect-src 'self' wss://ws.example.com/api;" in csp and "frame-ancestors 'none'" in csp
        assert headers["x-frame-options"] == "DENY"
    status, headers, body = page(api, "/console/app.js")
    assert status == 200 and headers["content-type"].startswith("text/javascript") and "textContent" in body
    assert "innerHTML" not in body  # the console renders every value as text
    status, headers, _ = page(api, "/console/vendor/swagger-ui/swagger-ui-bundle.js")
    assert status == 200 and headers["content-type"].startswith("text/javascript")
    for missing in ("/console/nothing.js", "/console/..%2F..%2Fapp.py", "/console/vendor/swagger-ui/..%2F..%2F..%2Fsettings.py"):
        status, _, body = page(api, missing)
        assert status == 404 and json.loads(body)["success"] is False, missing


def test_the_index_config_and_reference(api):
    status, headers, body = page(api, "/api/v1")
    index = json.loads(body)["data"]
    assert status == 200 and index["console"].endswith("/") and index["openapi"].endswith("/api/v1/openapi.json")
    assert index["docs"].endswith("/api/v1/docs")
    config = api.get("/config")
    assert config.status == 200 and set(config.data) == {"websocket_url", "api_version"}
    docs = api.client.http.get("/api/v1/docs")
    text = docs.body.decode()
    assert docs.status_code == 200 and "swagger-ui-bundle.js" in text and "<script>" not in text
    assert "script-src 'self';" in docs.headers["Content-Security-Policy"]


def test_resend_verification_is_202_whoever_asks_and_mails_only_who_waits(api):
    user = api.register()
    first = mailed_token(user["email"], "verify-email")
    known = api.post("/auth/resend-verification", {"email": user["email"]})
    unknown = api.post("/auth/resend-verification", {"email": "nobody-at-all@example.com"})
    assert known.status == unknown.status == 202 and known.body == unknown.body
    again = mailed_token(user["email"], "verify-email")
    assert again != first
    assert api.post("/auth/verify-email", {"token": again}).data["email_verified"] is True
    # Verified: nothing more is mailed, and the answer is the same.
    sent = mail_count(user["email"])
    assert api.post("/auth/resend-verification", {"email": user["email"]}).status == 202
    assert mail_count(user["email"]) == sent
    assert api.post("/auth/resend-verification", {}).status == 400


def test_resend_verification_mails_three_a_window_at_most(api):
    user = api.register()
    sent = mail_count(user["email"])
    for _ in range(5):
        assert api.post("/auth/resend-verification", {"email": user["email"]}).status == 202
    assert mail_count(user["email"]) == sent + 3


def test_admins_find_users_by_email_or_name(api):
    admin = api.admin()
    ada = api.register(first_name="Augusta", last_name="Byron")
    grace = api.register("seller", first_name="Grace", last_name="Hopper")
    found = lambda q: {u["email"] for u in api.get(f"/admin/users?q={q}&limit=100", token=admin["token"]).data}  # noqa: E731
    assert ada["email"] in found(ada["email"].upper()) and grace["email"] not in found(ada["email"])
    assert found("augusta") >= {ada["email"]} and grace["email"] not in found("augusta")
    assert grace["email"] in found("Hopp")
    sellers = api.get(f"/admin/users?q=Hopp&account_type=seller", token=admin["token"])
    assert grace["email"] in {u["email"] for u in sellers.data} and sellers.data[0]["account_type"] == "seller"
    assert api.get("/admin/users?q=<b>", token=admin["token"]).status == 400
    assert api.get("/admin/users?q=Hopp", token=api.register()["token"]).status == 403


def test_the_websocket_url_is_the_management_apis_over_wss_unless_set():
    from chalicelib.settings import Settings

    endpoint = "https://abc123.execute-api.us-east-1.amazonaws.com/api"
    assert Settings(websocket_endpoint=endpoint).websocket_url == "wss://abc123.execute-api.us-east-1.amazonaws.com/api"
    assert Settings(websocket_endpoint=endpoint, websocket_url="ws://127.0.0.1:9/ws/events").websocket_url == \
        "ws://127.0.0.1:9/ws/events"
    assert Settings(websocket_endpoint=None).websocket_url is None
