"""An example RTB bidder for `make run` (`make bidder`): a seller's own bidding server on the loopback. It checks
each ping's X-Exchange-Signature with the profile's secret (when given), prints the ping, and bids a fixed
amount (0: no bid). Standard library only, so it runs with any python3.

    make bidder [BIDDER_PORT=8030] [BID=6.00] [SECRET=rtbsec_...]
    python3 -m local.bidder --port 8030 --bid 6.00 --secret rtbsec_...
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def verify(secret: str, body: bytes, header: str, now: int) -> bool:
    """The README's recipe."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    expected = hmac.new(secret.encode(), f"{parts.get('t')}.".encode() + body, hashlib.sha256).hexdigest()
    return abs(now - int(parts.get("t", 0))) <= 300 and hmac.compare_digest(expected, parts.get("v1", ""))


def serve(port: int, bid: str, secret: str | None, destination: str | None) -> None:
    class Bidder(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            signed = verify(secret, body, self.headers.get("X-Exchange-Signature", ""), int(time.time())) \
                if secret else None
            if signed is False:
                answer, status = {"error": "bad signature"}, 401
            else:
                answer = {"bid_amount": bid, "bid_id": f"bid-{int(time.time() * 1000)}"}
                if destination:
                    answer["destination_number"] = destination
                status = 200
            print(f"ping {body.decode(errors='replace')} signature={'ok' if signed else signed} -> {answer}",
                  flush=True)
            raw = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Bidder)
    print(f"Bidder: http://127.0.0.1:{server.server_port}/bid (bids {bid})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8030)
    parser.add_argument("--bid", default="6.00")
    parser.add_argument("--secret", default=None, help="the profile's rtb.secret: pings that fail it get 401")
    parser.add_argument("--destination", default=None, help="a number to ring instead of the profile's")
    args = parser.parse_args()
    serve(args.port, args.bid, args.secret, args.destination)


if __name__ == "__main__":
    main()
