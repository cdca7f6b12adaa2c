"""Outbound real-time bidding: a bid profile with `rtb` has its seller's own bidding server name its price
for each call. When a call is to be routed (instant routing, a live call's ring tree, an inbound ping), the
bidders of every matching RTB profile are pinged at once with the call's facts, signed with the profile's
secret (domain/signing.py), from the process's one HTTP client (gateways/outbound.py). An answer within the
profile's timeout competes with the static profiles at its price; no answer, a late one, an error or a
malformed one is no bid. The routing waits at most the longest timeout among the profiles pinged."""
from __future__ import annotations

from datetime import datetime

from chalicelib import clock
from chalicelib.config import get_settings
from chalicelib.domain import rtb, signing
from chalicelib.domain.routing import CallFacts
from chalicelib.domain.urls import callback_url_problem
from chalicelib.gateways import outbound
from chalicelib.observability import logger
from chalicelib.persistence.tables import BidProfileModel


def priced(bidders: list[BidProfileModel], facts: CallFacts, call_id: str | None, now: datetime,
           zip_code: str | None = None) -> tuple[list[BidProfileModel], list[dict]]:
    """Each bidder pinged at once: the profiles whose bidder bid, each priced at its bid (and ringing the
    destination its answer names, else its own), and a routing log entry per ping."""
    allow_loopback = get_settings().allow_loopback_callbacks
    sendable = [p for p in bidders if callback_url_problem(p.rtb["url"], allow_loopback) is None]
    timestamp = int(clock.now().timestamp())
    requests = []
    for profile in sendable:
        config = profile.rtb
        body = rtb.ping_body(profile.profile_id, call_id or "", facts.state, zip_code, facts.call_type,
                             tuple(facts.keywords), facts.caller if config.get("send_caller_id") else None)
        requests.append(outbound.Request(config["url"], body, {
            signing.HEADER: signing.header(config["secret"], body, timestamp)},
            int(config.get("timeout_ms") or rtb.DEFAULT_TIMEOUT_MS) / 1000))
    offers, log = [], []
    for profile, sent in zip(sendable, outbound.post_all(requests)):
        if sent.failure is not None:
            log.append(rtb.log_entry(profile.profile_id, profile.seller_id, sent.failure, sent.elapsed_ms))
            continue
        answer = rtb.parse_answer(sent.status, sent.body)
        log.append(rtb.log_entry(profile.profile_id, profile.seller_id, answer.outcome, sent.elapsed_ms, answer))
        if answer.outcome == rtb.BID:
            offers.append(_at_price(profile, answer))
    if len(sendable) < len(bidders):  # a URL the rule refuses now (a profile made under `make run`)
        logger.warning("RTB profiles not pinged: their URL is not public", extra={"count": len(bidders) - len(sendable)})
    return offers, log


def _at_price(profile: BidProfileModel, answer: rtb.Answer) -> BidProfileModel:
    """The profile as routing takes it for this call: at the bidder's price, ringing its destination."""
    return BidProfileModel(
        profile.profile_id, seller_id=profile.seller_id, criteria=profile.criteria, bid_amount=answer.price,
        destination_number=answer.destination_number or profile.destination_number, terms=profile.terms,
        rtb={**profile.rtb, "bid_id": answer.bid_id}, active=True, created_at=profile.created_at,
        updated_at=profile.updated_at)
