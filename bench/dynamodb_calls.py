"""DynamoDB calls per request of the exchange: create call, place bid, close auction, route, complete.

    .venv/bin/python bench/dynamodb_calls.py
"""
from __future__ import annotations

import json

from counting import counted, product


def main() -> None:
    rows: list = []
    with product() as (client, api, _):
        buyer, seller = api.register("buyer"), api.register("seller")
        api.fund(seller)
        api.fund(buyer, "10.00")  # the buyer pays the minutes
        api.post("/bid-profiles", {"bid_amount": "2.00", "destination_number": "+13125552671"}, token=seller["token"])
        call_body = {"from_number": "+14155552671", "to_number": "+12125552671", "direction": "inbound"}

        with counted("POST /calls", rows):
            call = api.post("/calls", call_body, token=buyer["token"]).data
        auction = api.post("/auctions", {"call_id": call["id"], "reserve_price": "1.00", "duration": 60},
                           token=buyer["token"]).data
        with counted("POST /bids", rows):
            assert api.post("/bids", {"auction_id": auction["id"], "amount": "3.00"}, token=seller["token"]).status == 201
        with counted("POST /auctions/{id}/complete (close)", rows):
            api.post(f"/auctions/{auction['id']}/complete", token=buyer["token"])
        with counted("POST /calls/{id}/route (auction winner)", rows):
            assert api.post(f"/calls/{call['id']}/route", token=buyer["token"]).status == 200
        for status in ("ringing", "in_progress"):
            api.call("PATCH", f"/calls/{call['id']}/status", {"status": status}, token=buyer["token"])
        with counted("POST /calls/{id}/complete (settle)", rows):
            assert api.post(f"/calls/{call['id']}/complete", {"duration": 90}, token=buyer["token"]).status == 200
        instant = api.post("/calls", call_body, token=buyer["token"]).data
        with counted("POST /calls/{id}/route (instant, 1 profile)", rows):
            assert api.post(f"/calls/{instant['id']}/route", token=buyer["token"]).status == 200

    print("DynamoDB calls per request (each includes 1 TransactGetItems for authentication)")
    for label, total, by_operation in rows:
        print(f"  {label:45s} {total:3d}  {json.dumps(by_operation)}")


if __name__ == "__main__":
    main()
