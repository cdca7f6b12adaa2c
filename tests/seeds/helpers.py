"""Helpers of the seed scenarios: the seeds' phone numbers, funded users, and numbers bought through the API."""
from tests.api.test_numbers import run_provisioning

SEED_CALLER = "+14155551234"  # the seeds' caller: San Francisco, CA
SEED_TOLL_FREE = "+18005551234"  # the seeds' callee: US toll-free, no state


def funded(api, account_type: str = "buyer", amount: str = "100.00", **overrides) -> dict:
    """A registered user whose balance an admin credited (a purchase or a winning price is paid from it)."""
    user = api.register(account_type, **overrides)
    api.fund(user, amount)
    return user


def available_numbers(api, user: dict, query: str = "country_code=US&area_code=415&limit=5") -> list[str]:
    found = api.get(f"/numbers/search?{query}", token=user["token"])
    assert found.status == 200, found.body
    return [n["phone_number"] for n in found.data]


def own_numbers(api, client, user: dict, count: int = 1, phone_numbers: list[str] | None = None) -> list[dict]:
    """`count` numbers (or these `phone_numbers`) bought through the API and provisioned by the worker, as seed
    000's createTestNumber makes them in its database."""
    wanted = phone_numbers or available_numbers(api, user, "country_code=US&area_code=415&limit=20")[:count]
    placed = api.post("/numbers/purchase", {"numbers": [{"phone_number": n, "friendly_name": f"Line {i}"}
                                                        for i, n in enumerate(wanted)]}, token=user["token"])
    assert placed.status == 201, placed.body
    run_provisioning(client)
    order = api.get(f"/orders/{placed.data['order_id']}", token=user["token"]).data
    assert order["status"] == "COMPLETED", order
    return order["numbers"]
