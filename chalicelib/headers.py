"""Headers every answer carries, whoever answers: a route (http.py), Chalice itself (app middleware), the
local server for a path no route has (local/server.py) and API Gateway's own responses (infra/generate.py).
OWASP's REST Security Cheat Sheet: an API's answers are not cached, sniffed or framed, and go over HTTPS only.
No value holds a quote: API Gateway takes static header values between single quotes."""
from __future__ import annotations

REQUEST_ID = "X-Request-Id"

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "Referrer-Policy": "no-referrer",
}
