"""A local, stateful emulator of the parts of Stripe's API (v1) that the product uses.

The real `stripe` SDK talks to it over HTTP (STRIPE_API_BASE), form-encoded as it talks to Stripe, so tests
and `make run` send the requests production sends and get Stripe's object shapes and errors back:

- Bearer secret-key auth (401 otherwise); `Idempotency-Key` honoured on every POST (the same key with other
  parameters is 400 `idempotency_error`, as at Stripe);
- customers; payment methods (attach, detach, list, retrieve); PaymentIntents (create with `confirm`,
  confirm, retrieve, `expand[]`); charges with a balance transaction (fee 2.9 % + 0.30); refunds; disputes
  (fee 15.00); webhook endpoints and events;
- Connect: Express accounts (`payouts_enabled` false until onboarded), account links (their `url`, opened
  with GET as in a browser, completes onboarding at once: payouts enabled, the `transfers` capability
  active, `account.updated` sent; an expired link is 410), transfers to a connected account (refused,
  400 `insufficient_capabilities_for_transfer`, until it is onboarded) and transfer reversals
  (`transfer.reversed`);
- Stripe's test payment methods: pm_card_visa, pm_card_mastercard (succeed), pm_card_chargeDeclined (declined,
  `generic_decline`, already when attached), pm_card_chargeDeclinedInsufficientFunds (`insufficient_funds`
  when charged), pm_card_authenticationRequired (`requires_action` with its client_secret on session;
  off_session, 402 `authentication_required`). Each use of a test id makes a new PaymentMethod, as at Stripe.

Events are signed as Stripe signs them (`Stripe-Signature: t=…,v1=HMAC-SHA256("t.payload")` with the
webhook secret) and delivered, on a thread of their own, to every webhook endpoint (and `webhook_url`).
Not Stripe's API, no auth: `POST /simulator/refund` and `/simulator/dispute` `{"payment_intent": "pi_…"}`
refund or dispute its charge, `/simulator/fail-transfer {"transfer": "tr_…"}` reverses a transfer in full (a
transfer Stripe has made does not fail later: a failed one comes back as a reversal, `transfer.reversed`),
`/simulator/authenticate` completes a PaymentIntent's 3-D Secure, and
`/simulator/resend {"event": "evt_…"}` delivers an event again.

Run alone: `python -m local.stripe_emulator --port 8030` (default STRIPE_EMULATOR_PORT, else a free port).
"""
from local.stripe_emulator.server import StripeEmulator

__all__ = ["StripeEmulator"]
