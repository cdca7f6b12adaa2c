"""Instant routing reads what it needs: the route entries under the call's country and state keys, kept
in step with every create, change, deactivation and delete of a profile."""
from __future__ import annotations

from collections import Counter
import phonenumbers
import pytest

from chalicelib.domain import phones
from chalicelib.domain.compliance import is_region
from chalicelib.persistence.tables import ALL_MODELS, BidProfileModel, RouteEntryModel
from chalicelib.services import bid_profiles
from tests.api.test_exchange import buyer, seller  # noqa: F401 - fixtures: a funded buyer and seller

CA_CALLER = "+14155552671"  # San Francisco, CA
NY_CALLER = "+12125552671"  # New York, NY
CALLEE = "+13125552671"  # Chicago, IL
DESTINATION = "+13125552671"


pytestmark = pytest.mark.usefixtures("afternoon_in_new_york")  # 13:00 in New York: calling hours


@pytest.fixture
def reads(monkeypatch):
    """Items DynamoDB returns to the app, by logical table name, as bench/counting.py counts calls."""
    from pynamodb.connection.base import Connection

    counted: Counter = Counter()
    original = Connection._make_api_call

    def logical(table: str) -> str:
        return next((m.logical_name for m in ALL_MODELS if m.Meta.table_name == table), table)

    def counting(self, operation_name, operation_kwargs, *args, **kwargs):
        response = original(self, operation_name, operation_kwargs, *args, **kwargs)
        if operation_name in ("Query", "Scan"):
            counted[logical(operation_kwargs["TableName"])] += response.get("Count", 0)
        elif operation_name == "GetItem" and response.get("Item"):
            counted[logical(operation_kwargs["TableName"])] += 1
        elif operation_name == "BatchGetItem":
            for table, items in response.get("Responses", {}).items():
                counted[logical(table)] += len(items)
        elif operation_name == "TransactGetItems":
            for asked, got in zip(operation_kwargs["TransactItems"], response.get("Responses", [])):
                if got.get("Item"):
                    counted[logical(asked["Get"]["TableName"])] += 1
        return response

    monkeypatch.setattr(Connection, "_make_api_call", counting)
    return counted


def profile(api, seller, bid="5.00", countries=(), states=(), **fields):
    body = {"criteria": {"geography": {"countries": list(countries), "states": list(states)}},
            "bid_amount": bid, "destination_number": DESTINATION, **fields}
    result = api.post("/bid-profiles", body, token=seller["token"])
    assert result.status == 201, result.body
    return result.data


def change(api, seller, created, body):
    result = api.put(f"/bid-profiles/{created['id']}", body, token=seller["token"])
    assert result.status == 200, result.body
    return result.data


def route(api, buyer, caller=CA_CALLER, **call):
    created = api.post("/calls", {"from_number": caller, "to_number": CALLEE, **call}, token=buyer["token"])
    assert created.status == 201, created.body
    return api.post(f"/calls/{created.data['id']}/route", token=buyer["token"])


def routed_to(api, buyer, caller=CA_CALLER, **call) -> str | None:
    result = route(api, buyer, caller, **call)
    if result.status == 400 and result.error["code"] == "NO_BIDS_AVAILABLE":
        return None
    assert result.status == 200, result.body
    return result.data["profile_id"]


def entry_keys(profile_id: str) -> set[str]:
    return {e.route_key for e in RouteEntryModel.scan(RouteEntryModel.profile_id == profile_id)}


def test_a_call_reads_only_the_profiles_that_can_match_it(api, buyer, seller, reads):
    matching = [profile(api, seller, "4.00"), profile(api, seller, "5.00", countries=["US"]),
                profile(api, seller, "6.00", states=["CA", "NV"]),
                profile(api, seller, "7.00", countries=["US", "CA"], states=["CA", "ON"])]
    for countries, states in [((), ["TX"]), (["GB"], ()), ((), ["NY", "TX"]), (["CA"], ()), (["US"], ["NY"]),
                              (["CA"], ["CA"]), (["GB", "DE"], ())]:
        profile(api, seller, "9.00", countries, states)  # higher bids, elsewhere
    profile(api, seller, "9.50", active=False)
    change(api, seller, matching[-1], {"criteria": {"max_budget": "100.00"}})  # the only one with a daily budget

    reads.clear()
    result = route(api, buyer, call_type="insurance")
    assert result.status == 200 and result.data["profile_id"] == matching[-1]["id"]
    assert result.data["price"] == "7.00" and result.data["destination_number"] == DESTINATION
    assert reads["route_entries"] == len(matching)  # US#CA, US#*, *#CA, *#*: one profile each
    assert reads["bid_profiles"] == 0  # the entries carry what routing needs
    assert reads["profile_spend"] == 0  # nothing spent yet: nothing to read

    # The next call reads the spend of the profiles that match it and have a budget, and still only theirs;
    # none has caps, so no cap counter is read.
    reads.clear()
    assert routed_to(api, buyer) == matching[-1]["id"]
    assert reads["route_entries"] == len(matching) and reads["profile_spend"] == 1
    assert reads["cap_counters"] == 0


def test_a_call_without_a_state_reads_two_keys(api, buyer, seller, reads):
    anywhere = profile(api, seller, "3.00")
    profile(api, seller, "4.00", states=["ON"])
    reads.clear()
    assert routed_to(api, buyer, "+18005550199") == anywhere["id"]  # toll-free: US, no state
    assert reads["route_entries"] == 1  # under *#*; US#* is empty and the Ontario profile is not read


def test_a_profile_that_moved_from_ca_to_ny_no_longer_gets_ca_calls(api, buyer, seller):
    moving = profile(api, seller, states=["CA"])
    assert entry_keys(moving["id"]) == {"*#CA"}
    moved = change(api, seller, moving, {"criteria": {"geography": {"states": ["NY"]}}})
    assert moved["criteria"]["geography"] == {"countries": [], "states": ["NY"]}
    assert entry_keys(moving["id"]) == {"*#NY"}
    assert routed_to(api, buyer, CA_CALLER) is None
    assert routed_to(api, buyer, NY_CALLER) == moving["id"]

    # Adding a country keeps the states: the entries become the pairs.
    change(api, seller, moving, {"criteria": {"geography": {"countries": ["US"]}}})
    assert entry_keys(moving["id"]) == {"US#NY"}
    assert routed_to(api, buyer, NY_CALLER) == moving["id"]


def test_bid_destination_and_budget_changes_reach_routing(api, buyer, seller):
    rival = api.register("seller")
    api.fund(rival)
    mine = profile(api, seller, "5.00", countries=["US"])
    theirs = profile(api, rival, "6.00")
    assert routed_to(api, buyer) == theirs["id"]

    change(api, seller, mine, {"bid_amount": "8.00", "destination_number": "+14155552672"})
    result = route(api, buyer)
    assert result.data["profile_id"] == mine["id"]
    assert result.data["price"] == "8.00" and result.data["destination_number"] == "+14155552672"

    # A budget for one more call at 8.00 only: after it, the rival gets the calls.
    change(api, seller, mine, {"criteria": {"max_budget": "15.00"}})
    assert routed_to(api, buyer) == theirs["id"]  # 8.00 spent today, 7.00 left: not enough for 8.00
    change(api, seller, mine, {"criteria": {"max_budget": "16.00"}})
    assert routed_to(api, buyer) == mine["id"]
    assert routed_to(api, buyer) == theirs["id"]

    # Targeting beyond geography is copied too.
    change(api, rival, theirs, {"criteria": {"call_type": ["legal"]}})
    assert routed_to(api, buyer, call_type="insurance") is None
    assert routed_to(api, buyer, call_type="legal") == theirs["id"]


def test_deactivation_and_delete_remove_the_entries(api, buyer, seller):
    created = profile(api, seller, countries=["US"], states=["CA", "NY"])
    assert entry_keys(created["id"]) == {"US#CA", "US#NY"}
    change(api, seller, created, {"active": False})
    assert entry_keys(created["id"]) == set()
    assert routed_to(api, buyer) is None
    change(api, seller, created, {"bid_amount": "6.00"})  # an inactive profile stays without entries
    assert entry_keys(created["id"]) == set()

    change(api, seller, created, {"active": True})
    assert entry_keys(created["id"]) == {"US#CA", "US#NY"}
    result = route(api, buyer)
    assert result.data["profile_id"] == created["id"] and result.data["price"] == "6.00"

    assert api.call("DELETE", f"/bid-profiles/{created['id']}", token=seller["token"]).status == 204
    assert entry_keys(created["id"]) == set()
    assert routed_to(api, buyer) is None

    inactive = profile(api, seller, active=False)
    assert entry_keys(inactive["id"]) == set()
    assert api.call("DELETE", f"/bid-profiles/{inactive['id']}", token=seller["token"]).status == 204


@pytest.mark.parametrize("countries, states", [
    ((), ()), (["US"], ()), (["GB", "US"], ()), ((), ["CA"]), ((), ["NY", "CA"]), (["US"], ["CA"]),
    (["US", "CA"], ["CA", "ON"]),
])
def test_wildcard_and_partial_geographies_still_match(api, buyer, seller, countries, states):
    created = profile(api, seller, countries=countries, states=states)
    assert routed_to(api, buyer) == created["id"]


@pytest.mark.parametrize("countries, states", [
    (["GB"], ()), ((), ["NY"]), (["CA"], ["CA"]), (["US"], ["NY"]), (["CA"], ()),
])
def test_geographies_elsewhere_do_not_match(api, buyer, seller, countries, states):
    profile(api, seller, countries=countries, states=states)
    assert routed_to(api, buyer) is None


def many_countries() -> list[str]:
    regions = sorted(r for r in phonenumbers.SUPPORTED_REGIONS if is_region(r) and r != "US")
    return ["US"] + regions[:49]


def test_a_move_between_many_states_and_many_countries_keeps_the_entries_exact(api, buyer, seller):
    """69 state entries to 50 country entries is more than one transaction holds: the entries of the
    new geography that are not kept follow in a second one."""
    every_state = sorted(phones.state_codes())
    created = profile(api, seller, states=every_state)
    assert entry_keys(created["id"]) == {f"*#{s}" for s in every_state}

    countries = many_countries()
    change(api, seller, created, {"criteria": {"geography": {"countries": countries, "states": []}},
                                  "bid_amount": "6.50"})
    assert entry_keys(created["id"]) == {f"{c}#*" for c in countries}
    assert {int(e.bid_amount) for e in RouteEntryModel.scan()} == {65_000}
    result = route(api, buyer)
    assert result.data["profile_id"] == created["id"] and result.data["price"] == "6.50"

    change(api, seller, created, {"criteria": {"geography": {"countries": [], "states": every_state}}})
    assert entry_keys(created["id"]) == {f"*#{s}" for s in every_state}
    assert routed_to(api, buyer, NY_CALLER) == created["id"]


def test_an_update_from_a_stale_read_does_not_undo_a_change_made_meanwhile(api, buyer, seller, monkeypatch):
    created = profile(api, seller, "5.00", states=["CA"])
    stale = BidProfileModel.get(created["id"], consistent_read=True)
    change(api, seller, created, {"criteria": {"geography": {"states": ["NY"]}}})

    read = bid_profiles.get_profile
    reads_left = [stale]
    monkeypatch.setattr(bid_profiles, "get_profile",
                        lambda principal, profile_id: reads_left.pop() if reads_left else read(principal, profile_id))
    change(api, seller, created, {"bid_amount": "7.00"})

    stored = BidProfileModel.get(created["id"], consistent_read=True)
    assert stored.criteria["geography"]["states"] == ["NY"] and int(stored.bid_amount) == 70_000
    assert stored.revision == 3
    assert entry_keys(created["id"]) == {"*#NY"}
    assert {int(e.bid_amount) for e in RouteEntryModel.scan()} == {70_000}
    assert routed_to(api, buyer) is None
    assert routed_to(api, buyer, NY_CALLER) == created["id"]
