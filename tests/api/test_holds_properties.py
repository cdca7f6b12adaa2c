"""Property: whatever a buyer, its sellers, the hold job and an admin do to routed calls, in any order, the
money every account holds is exactly what the open holds hold (GET /admin/ledger's holds_match), the books
balance, and once the job has run past every bound nothing is held at all."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.persistence.tables import AccountModel
from tests.api.test_holds import reported_call, run_hold_job
from tests.helpers import PASSWORD
from tests.security.helpers import quick_password_hashing  # noqa: F401 - a fixture
from tests.api.test_webhooks import seller

CALLS = 3
step = st.one_of(
    st.tuples(st.just("route"), st.integers(0, CALLS - 1)),
    st.tuples(st.just("complete"), st.integers(0, CALLS - 1), st.integers(0, 400)),
    st.tuples(st.just("fail"), st.integers(0, CALLS - 1)),
    st.tuples(st.just("release"), st.integers(0, CALLS - 1)),
    st.tuples(st.just("wait"), st.integers(1, 5)),
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(step, min_size=1, max_size=8))
def test_held_money_is_always_the_open_holds(api, client, clock, afternoon_in_new_york, quick_password_hashing,
                                             steps):
    admin = api.admin()
    buyer = api.register("buyer")
    api.fund(buyer, "5.00")
    sellers = [seller(api, price, f"+1312555{n:04d}", funds="20.00") for n, price in enumerate(("4.00", "3.00"))]
    calls = [reported_call(api, buyer["token"]) for _ in range(CALLS)]

    def buyer_does(method: str, path: str, body=None) -> None:
        answer = api.call(method, path, body, token=buyer["token"])
        assert answer.status < 500, answer.body

    for action, *args in steps:
        if action == "route":
            buyer_does("POST", f"/calls/{calls[args[0]]}/route")
        elif action == "complete":
            for status in ("ringing", "in_progress"):
                buyer_does("PATCH", f"/calls/{calls[args[0]]}/status", {"status": status})
            buyer_does("POST", f"/calls/{calls[args[0]]}/complete", {"duration": args[1]})
        elif action == "fail":
            buyer_does("PATCH", f"/calls/{calls[args[0]]}/status", {"status": "failed"})
        elif action == "release":
            answer = api.post(f"/admin/calls/{calls[args[0]]}/release", {"reason": "stuck"}, token=admin["token"])
            assert answer.status == 200, answer.body
        else:
            clock.advance(hours=args[0])
            run_hold_job(client)
            buyer, admin = {**buyer, "token": logged_in(buyer["email"])}, api.admin()  # tokens expire meanwhile
        books = api.get("/admin/ledger", token=admin["token"]).data
        assert books["balanced"] and books["holds_match"], (action, args, books)

    clock.advance(hours=5)
    run_hold_job(client)
    assert all(int(AccountModel.get(s["user"]["id"]).held) == 0 for s in sellers)


def logged_in(email: str) -> str:
    from chalicelib.services.sessions import login

    return login(email, PASSWORD).access_token
