"""An example of every request body, keyed by the body model's name: the OpenAPI document shows each with
its operation (chalicelib/api/openapi.py), and so does docs/api.md.

They are the bodies the README's story sends (ids excepted: there they come from earlier answers), and a
test validates each against its own model (tests/api/test_openapi_examples.py), so none can rot. Form
bodies (Twilio's webhooks) are given as their form fields.

Plain data only: nothing here is imported by a request.
"""
from __future__ import annotations

from typing import Any

# Ids in the examples: any UUID of the right record; the README takes them from earlier answers. The
# buyer's number is Twilio's test number that can always be bought (+15005550006, the emulator honours
# it); the README buys one found by a search instead (a number that is in no stock fails with 21422).
_CALL_ID = "6f1c1d3e-8a4b-4c2e-9f3a-1b2c3d4e5f60"
_AUCTION_ID = "0b9e2f4c-7d1a-4e8b-a3c5-d6e7f8091a2b"

REQUEST_EXAMPLES: dict[str, dict[str, Any]] = {
    # identity
    "RegisterRequest": {
        "email": "ada@example.com", "password": "Str0ng!Passw0rd", "first_name": "Ada", "last_name": "Lovelace",
        "company": "Engines Ltd", "account_type": "buyer", "accept_terms": True,
    },
    "LoginRequest": {
        "email": "ada@example.com", "password": "Str0ng!Passw0rd",
        "device_info": {"platform": "web", "browser": "firefox"},
    },
    "RefreshRequest": {"refresh_token": "3b2f7c1e-5a4d-4f60-8e21-9c0d7b6a5f43.kQ7yVv0Zp2xW9sLr4TgU8nHc1bJm6dEa3iOf5uYqXzE"},
    "LogoutRequest": {"all_devices": False},
    "ChangePasswordRequest": {"current_password": "Str0ng!Passw0rd", "new_password": "N3w!Passw0rd-2026"},
    "ForgotPasswordRequest": {"email": "ada@example.com"},
    "ResetPasswordRequest": {"token": "r3setT0ken_from-the-mailed-link", "new_password": "N3w!Passw0rd-2026"},
    "VerifyEmailRequest": {"token": "ver1fyT0ken_from-the-mailed-link"},
    # funding (Stripe)
    "AddPaymentMethodRequest": {"payment_method": "pm_card_visa"},
    "TopUpRequest": {"amount": "500.00", "payment_method_id": "pm_1QyZ8sF2eZvKYlo2C0ffeeAa"},
    "AutoRechargeRequest": {"enabled": True, "below": "100.00", "amount": "250.00",
                            "payment_method_id": "pm_1QyZ8sF2eZvKYlo2C0ffeeAa"},
    # payouts (Stripe Connect)
    "PayoutAccountRequest": {"auto_withdraw": True},
    "AutoWithdrawRequest": {"auto_withdraw": False},
    "WithdrawalRequest": {"amount": "120.00"},
    "StripeEvent": {"id": "evt_1QyZ9aF2eZvKYlo2bYk0Tq1c", "object": "event", "type": "payment_intent.succeeded",
                    "data": {"object": {"id": "pi_3QyZ9aF2eZvKYlo21x2y3z4w", "object": "payment_intent",
                                        "status": "succeeded"}}},
    # admin
    "SuspendRequest": {"reason": "Chargebacks under review", "duration_days": 7, "notify_user": True},
    "CreditRequest": {"amount": "50.00", "reason": "Welcome credit"},
    "UserUpdate": {"credit_limit": "25.00"},
    "ReleaseRequest": {"reason": "The buyer's integration stopped reporting; the seller asked for its money back"},
    "BlockedCallerRequest": {"phone_number": "+1212555", "reason": "Known TCPA litigator"},
    # numbers
    "PurchaseRequest": {"numbers": [
        {"phone_number": "+15005550006", "friendly_name": "Sales line",
         "configuration": {"routing": "exchange", "call_type": "sales"}},
    ]},
    "NumberUpdate": {"friendly_name": "Sales line (west)"},
    # the exchange
    "BidProfileRequest": {
        "criteria": {"geography": {"countries": ["US"], "states": ["CA"]}, "call_type": ["sales"],
                     "keywords": ["solar"], "max_budget": "100.00"},
        "bid_amount": "5.00", "destination_number": "+13125552671", "active": True,
        "conversion_seconds": 90,
        "schedule": {"timezone": "America/Chicago",
                     "windows": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start_time": "09:00", "end_time": "17:00"}],
                     "closed_dates": ["2026-12-25"]},
        "caps": {"concurrency": 3, "hourly": 10, "daily": 50, "monthly": 1000, "counts": "connected"},
        "blocked_callers": ["+12125550100", "+44"], "record_calls": True,
    },
    "BidProfileUpdate": {"bid_amount": "6.00", "caps": {"concurrency": 5}, "schedule": None},
    "CreateCall": {
        "from_number": "+14155552671", "to_number": "+15005550006", "direction": "inbound",
        "call_type": "sales", "keywords": ["solar"],
    },
    "CreateAuction": {"call_id": _CALL_ID, "reserve_price": "2.00", "duration": 30},
    "PlaceBid": {"auction_id": _AUCTION_ID, "amount": "4.50"},
    "CallStatusUpdate": {"status": "ringing"},
    "CompleteCall": {"duration": 95},
    "DisputeRequest": {"reason": "Nobody called: the buyer's report does not match our phone system's records"},
    "DisputeDecision": {"decision": "accepted", "note": "The buyer could not show the call was made"},
    # compliance (admins)
    "DncRequest": {"phone_number": "+12025550143", "reason": "Asked not to be called", "list_type": "internal"},
    "TcpaHours": {"start_time": "08:00", "end_time": "21:00", "timezone": "America/New_York"},
    "GeoRestrictionRequest": {"state": "WY", "restricted": True, "reason": "Pending a state licence"},
    # Twilio's webhooks (form fields, signed with X-Twilio-Signature)
    "VoiceRequest": {"CallSid": "CA0123456789abcdef0123456789abcdef", "From": "+14155552671", "To": "+15005550006"},
    "DialAction": {"CallSid": "CA0123456789abcdef0123456789abcdef", "DialCallStatus": "completed",
                   "DialCallDuration": 95, "DialCallSid": "CA89abcdef0123456789abcdef01234567"},
    "StatusCallback": {"CallSid": "CA89abcdef0123456789abcdef01234567",
                       "ParentCallSid": "CA0123456789abcdef0123456789abcdef",
                       "CallStatus": "completed", "CallDuration": 95},
    "RecordingCallback": {"CallSid": "CA0123456789abcdef0123456789abcdef",
                          "RecordingSid": "RE0123456789abcdef0123456789abcdef", "RecordingStatus": "completed",
                          "RecordingDuration": 95, "RecordingChannels": 2, "RecordingSource": "DialVerb",
                          "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/"
                                          "AC0123456789abcdef0123456789abcdef/Recordings/"
                                          "RE0123456789abcdef0123456789abcdef"},
    # real-time bidding and webhooks for users' servers
    "RtbPingRequest": {"from_number": "+14155552671", "state": "CA", "zip": "94103", "call_type": "sales",
                       "keywords": ["solar"]},
    "WebhookEndpointRequest": {"url": "https://hooks.engines.example.com/exchange",
                               "events": ["call.completed", "balance.changed"]},
}

# An example answer of the routes whose answer a client must read to act on it, keyed by the response model's
# name (of its items, for a list): the success envelope as it is sent. A test validates each against the
# documented schema (tests/api/test_openapi_examples.py).
_EVENT_ID = "5b0c2d1e-8f3a-4b6c-9d7e-1a2b3c4d5e6f"
_SELLER_ID = "7d3c2b1a-0f9e-4d8c-b7a6-f5e4d3c2b1a0"
_PROFILE_ID = "2a1b0c9d-8e7f-4a6b-9c5d-4e3f2a1b0c9d"
_RIVAL_PROFILE_ID = "4c3d2e1f-0a9b-4c8d-8e7f-6a5b4c3d2e1f"
RESPONSE_EXAMPLES: dict[str, dict[str, Any]] = {
    "BidProfileOut": {  # GET /bid-profiles/{id}: its terms beside its criteria, and its calls in each cap window
        "success": True,
        "data": {
            "id": _PROFILE_ID, "seller_id": _SELLER_ID,
            "criteria": {"geography": {"countries": ["US"], "states": ["CA"]}, "call_type": ["sales"],
                         "keywords": ["solar"], "max_budget": "100.00", "verified_only": False,
                         "duplicate_window_hours": None},
            "bid_amount": "5.00", "destination_number": "+13125552671", "active": True, "paused": False,
            "conversion_seconds": 90,
            "schedule": {"timezone": "America/Chicago",
                         "windows": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start_time": "09:00",
                                      "end_time": "17:00"}],
                         "closed_dates": ["2026-12-25"]},
            "caps": {"concurrency": 3, "hourly": 10, "daily": 50, "monthly": 1000, "counts": "connected"},
            "blocked_callers": ["+12125550100", "+44"], "record_calls": True,
            "usage": {"concurrent": 2, "hour": 4, "day": 17, "month": 230},
            "created_at": "2026-11-02T15:00:00+00:00", "updated_at": "2026-11-30T09:12:41+00:00",
        },
    },
    "EligibilityOut": {  # GET /bid-profiles/{id}/eligibility?from_number=+14155552671&to_number=+14155550100
        "success": True,
        "data": {"eligible": False, "reasons": ["closed", "capped:daily"]},
    },
    "CallOut": {  # GET /calls/{id} by its buyer: a live call that did not convert, and why it went where it went
        "success": True,
        "data": {
            "id": _CALL_ID, "from_number": "+14155552671", "to_number": "+14155550100", "direction": "inbound",
            "source": "twilio", "call_sid": "CA" + "5" * 32,
            "attempts": [{"seller_id": _SELLER_ID, "profile_id": _PROFILE_ID, "price": "5.00", "outcome": "answered",
                          "started_at": "2026-11-30T15:00:01+00:00", "ended_at": "2026-11-30T15:00:40+00:00"}],
            "call_type": "sales", "status": "completed", "auction_id": None,
            "buyer_id": "1f0e9d8c-7b6a-4f5e-8d4c-3b2a1f0e9d8c", "seller_id": _SELLER_ID, "profile_id": _PROFILE_ID,
            "price": "5.00", "destination_number": "+13125552671", "duration": 35, "billed_seconds": 35,
            "cost": "0.02", "billable": False, "converted": False,
            "routing_log": [
                {"profile_id": _RIVAL_PROFILE_ID, "outcome": "skipped", "reason": "capped:concurrency"},
                {"profile_id": _PROFILE_ID, "outcome": "dialed", "reason": None}],
            "duplicate_caller": False, "dispute": None,
            "recording": {"sid": "RE" + "7" * 32, "status": "completed", "duration": 35},
            "created_at": "2026-11-30T15:00:00+00:00", "routed_at": "2026-11-30T15:00:01+00:00",
            "start_time": "2026-11-30T15:00:05+00:00", "end_time": "2026-11-30T15:00:40+00:00",
            "completed_at": "2026-11-30T15:00:40+00:00",
        },
    },
    "EventOut": {  # GET /events?after=<the last event_id you have>&limit=2
        "success": True,
        "data": [
            {"type": "call.status_changed", "event_id": _EVENT_ID, "seq": 41,
             "occurred_at": "2026-11-30T15:00:00.123456+00:00",
             "data": {"call_id": _CALL_ID, "status": "ringing", "previous_status": "queued", "source": "twilio"}},
            {"type": "balance.changed", "event_id": "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b", "seq": 42,
             "occurred_at": "2026-11-30T15:01:35.004211+00:00",
             "data": {"transaction_id": "3c2b1a0f-9e8d-4c7b-a6f5-e4d3c2b1a0f9", "kind": "call_settlement",
                      "reference": _CALL_ID, "changes": {"held": "-5.00"},
                      "balance": "95.00", "earnings": "0.00", "held": "0.00"}},
        ],
        "pagination": {"page": 1, "limit": 2, "total": 3, "total_pages": 2,
                       "next_token": "eyJzIjoiZXZlbnRzOi4uLiJ9LmFiYzEyMw"},
    },
}
