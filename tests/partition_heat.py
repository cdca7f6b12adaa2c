"""Partition heat: where every DynamoDB write lands, and a workload of the exchange to measure it with.

`HeatRecorder` is a botocore event hook on the product's one DynamoDB client. For every item a request
writes (PutItem, UpdateItem, DeleteItem, BatchWriteItem, and each Put, Update, Delete and ConditionCheck of
a TransactWriteItems, which all consume write capacity), it records the table's partition key and, for
each global secondary index, the partition key the index entry lands on, computed from the item as it
was before and after the write (read from in-process moto): an index is written when an item enters it,
leaves it, or (projection ALL) changes while in it.

`run_workload` drives the product in-process through chalice's test client, as its users do: buyers and
sellers register, sellers make bid profiles, buyers buy numbers, and calls are made: reported calls
routed and completed, live calls carried by Twilio's webhooks, auctions with bids, settlements and
disputes. Used by tests/api/test_partition_heat.py and bench/partition_heat.py."""
from __future__ import annotations

import math
import random
import threading
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field

SHARDS = 16  # the bound: no key takes more than 1/SHARDS of a table's (or an index's) writes, and chance
CHANCE = 1e-7  # how unlikely a fair hash must be to put more on one key than the bound allows
# Route keys ("US#*", "*#*") are written when a profile changes, not per call (issue 22 lets them stay).
EXEMPT = {"route_entries"}


@dataclass
class Heat:
    """Writes per partition key, and which items (entities) wrote each, per table or index."""
    writes: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    entities: dict[str, set] = field(default_factory=lambda: defaultdict(set))

    def total(self, label: str) -> int:
        return sum(self.writes[label].values())

    def hottest(self, count: int = 10) -> list[tuple[str, str, int, float]]:
        """(table or index, key, writes, share of its table's or index's writes), hottest share first,
        over tables and indexes with at least SHARDS writes (route keys left out: EXEMPT)."""
        rows = [(label, key, n, n / self.total(label)) for label, keys in self.writes.items()
                for key, n in keys.items() if self.total(label) >= SHARDS and label.split("/")[0] not in EXEMPT]
        rows.sort(key=lambda row: (-row[3], -row[2]))
        return rows[:count]

    def bound(self, label: str) -> float:
        """1/SHARDS, plus what chance allows a fair hash of the label's items over SHARDS keys: the largest
        share k/m of its m distinct items written that one key still reaches with a probability over CHANCE
        (the exact binomial tail, so a handful of items, e.g. two numbers on one shard, is no alarm)."""
        return binomial_bound(max(1, len(self.entities[label])), 1 / SHARDS, CHANCE)

    def too_hot(self) -> list[tuple[str, str, int, float, float]]:
        """(label, key, writes, share, bound) of every key over its bound."""
        found = []
        for label, keys in self.writes.items():
            if label.split("/")[0] in EXEMPT:
                continue
            total = self.total(label)
            key, n = keys.most_common(1)[0]
            if n / total > self.bound(label):
                found.append((label, key, n, n / total, self.bound(label)))
        return found

    def report(self, count: int = 10) -> str:
        lines = [f"{'table/index':<34} {'partition key':<48} {'writes':>7} {'share':>7}"]
        for label, key, n, share in self.hottest(count):
            lines.append(f"{label:<34} {key[:48]:<48} {n:>7} {share:>7.1%}")
        return "\n".join(lines)


def binomial_bound(m: int, p: float, chance: float) -> float:
    """The largest share k/m with P(Binomial(m, p) >= k) > chance: a share above it is rarer than `chance`."""
    log_p, log_q = math.log(p), math.log1p(-p)
    pmf = [math.exp(math.lgamma(m + 1) - math.lgamma(i + 1) - math.lgamma(m - i + 1) + i * log_p + (m - i) * log_q)
           for i in range(m + 1)]
    tail = 0.0
    for k in range(m, -1, -1):
        tail += pmf[k]
        if tail > chance:
            return k / m
    return 0.0


class HeatRecorder:
    """Records where each write lands, from botocore's events on the product's DynamoDB client."""

    def __init__(self) -> None:
        self.heat = Heat()
        self._lock = threading.Lock()
        self._client = None

    # --- hooking in -------------------------------------------------------------------------------

    def start(self) -> "HeatRecorder":
        from chalicelib.persistence import db

        client = db.connection().client
        client.meta.events.register("provide-client-params.dynamodb", self._before)
        client.meta.events.register("after-call.dynamodb", self._after)
        self._client = client
        return self

    def stop(self) -> None:
        if self._client is not None:
            self._client.meta.events.unregister("provide-client-params.dynamodb", self._before)
            self._client.meta.events.unregister("after-call.dynamodb", self._after)
            self._client = None

    def reset(self) -> None:
        with self._lock:
            self.heat = Heat()

    def __enter__(self) -> "HeatRecorder":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- what a request writes --------------------------------------------------------------------

    def _before(self, params: dict, model, context: dict, **_) -> None:
        writes = list(_written(model.name, params))
        if writes:
            context["heat"] = [(table, key, kind, _image(table, key)) for table, key, kind in writes]

    def _after(self, context: dict, **_) -> None:
        for table_name, key, kind, before in context.pop("heat", []):
            table = _table(table_name)
            if table is None:
                continue
            after = _image(table_name, key) if kind != "check" else before
            logical = _logical(table_name)
            entity = "|".join(_plain(value) for value in key.values())
            with self._lock:
                hash_name = table.hash_key_attr
                self._count(logical, _plain(key[hash_name]), entity)
                if kind == "check":
                    continue
                for index in table.global_indexes:
                    for partition in _index_partitions(index, before, after):
                        self._count(f"{logical}/{index.name}", partition, entity)

    def _count(self, label: str, partition: str, entity: str) -> None:
        self.heat.writes[label][partition] += 1
        self.heat.entities[label].add(entity)


def _written(operation: str, params: dict):
    """(table, key attributes in DynamoDB JSON, kind) of each item the request writes."""
    if operation == "PutItem":
        yield params["TableName"], _key_of(params["TableName"], params["Item"]), "write"
    elif operation in ("UpdateItem", "DeleteItem"):
        yield params["TableName"], params["Key"], "write"
    elif operation == "BatchWriteItem":
        for table, requests in params["RequestItems"].items():
            for request in requests:
                if "PutRequest" in request:
                    yield table, _key_of(table, request["PutRequest"]["Item"]), "write"
                else:
                    yield table, request["DeleteRequest"]["Key"], "write"
    elif operation == "TransactWriteItems":
        for item in params["TransactItems"]:
            (kind, spec), = item.items()
            if kind == "Put":
                yield spec["TableName"], _key_of(spec["TableName"], spec["Item"]), "write"
            else:
                yield spec["TableName"], spec["Key"], "check" if kind == "ConditionCheck" else "write"


# --- in-process moto: tables and items --------------------------------------------------------------

def _backend_tables() -> dict:
    from moto.dynamodb.models import dynamodb_backends

    found = {}
    for account in dynamodb_backends.values():
        for backend in account.values():
            found.update(backend.tables)
    return found


def _table(name: str):
    return _backend_tables().get(name)


def _key_of(table_name: str, item: dict) -> dict:
    table = _table(table_name)
    names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    return {name: item[name] for name in names if name in item}


def _image(table_name: str, key: dict) -> dict | None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    table = _table(table_name)
    if table is None:
        return None
    hash_value = DynamoType(key[table.hash_key_attr])
    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    try:
        item = table.get_item(hash_value, range_value)
    except Exception:  # noqa: BLE001 - a key moto cannot read is an item not there
        return None
    return {name: value.to_json() for name, value in item.attrs.items()} if item else None


def _index_partitions(index, before: dict | None, after: dict | None) -> set[str]:
    names = [k["AttributeName"] for k in index.schema]
    hash_name = next(k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH")

    def entry(image):
        if image is None or any(name not in image for name in names):
            return None
        return tuple(_plain(image[name]) for name in names)

    old, new = entry(before), entry(after)
    if old is None and new is None:
        return set()
    keys_only = (index.projection or {}).get("ProjectionType") == "KEYS_ONLY"
    if old == new and (keys_only or before == after):
        return set()  # nothing the index holds changed
    position = names.index(hash_name)
    return {value[position] for value in (old, new) if value is not None}


def _plain(value: dict) -> str:
    (kind, inner), = value.items()
    return str(inner)


def _logical(table_name: str) -> str:
    from chalicelib.persistence.tables import ALL_MODELS

    return next((m.logical_name for m in ALL_MODELS if m.Meta.table_name == table_name), table_name)


# --- the workload -----------------------------------------------------------------------------------

CALLERS = ("+14155552671", "+14155550123", "+16505551234", "+15105559876", "+12135550199")
CALLEE = "+12125552671"
FUNDS = {"buyer": 1_000, "seller": 100_000}  # dollars: nobody runs short in the workload


@dataclass
class Workload:
    buyers: int = 200
    sellers: int = 200
    calls: int = 2_000
    seed: int = 22
    dispute_every: int = 25  # of the settled reported calls
    counts: Counter = field(default_factory=Counter)  # what was done, by kind


def run_workload(api, client, workload: Workload, twilio=None, publish=None) -> Counter:
    """Drives the product: registrations, profiles, number purchases (a tenth of the buyers, whose numbers
    route through the exchange and take the live calls), then `calls` calls: six in ten reported and
    routed at once, two in ten auctioned (three bids each, closed by the buyer), two in ten live (through
    Twilio's webhooks, when numbers were bought). Every twenty-fifth settled reported call is disputed by
    its seller (`dispute_every`) and decided by an admin. `publish()` (the outbox's stream) runs every hundred calls."""
    from chalicelib.services import admin as admin_service

    rng = random.Random(workload.seed)
    done = workload.counts
    admin = api.admin()

    def ok(result, *codes):
        assert result.status in (codes or (200, 201)), (result.status, result.body)
        done["requests"] += 1
        return result

    buyers = [api.register("buyer") for _ in range(workload.buyers)]
    sellers = [api.register("seller") for _ in range(workload.sellers)]
    done["requests"] += len(buyers) + len(sellers)
    for user in buyers + sellers:  # what an admin's credit does (its request's own rate counter left out)
        amount = FUNDS[user["user"]["account_type"]]
        admin_service.credit(user["user"]["id"], amount, "workload funds", str(uuid.uuid4()))
    # Seller j takes calls of type j (so calls spread over sellers as buyers' traffic would), and bids in
    # any auction (an auctioned call states no type).
    for j, seller in enumerate(sellers):
        ok(api.post("/bid-profiles", {"criteria": {"call_type": [f"type{j}"]}, "bid_amount": "2.00",
                                      "destination_number": f"+1312555{j % 10_000:04d}"}, token=seller["token"]))
    live_numbers = _buy_numbers(api, client, buyers[: max(1, workload.buyers // 10)], len(sellers), ok) \
        if twilio is not None else []
    done["numbers"] = len(live_numbers)

    settled = 0
    for i in range(workload.calls):
        buyer = buyers[i % len(buyers)]  # in turn: each user's own keys take an even share
        kind = i % 10
        if kind >= 8 and live_numbers:
            _live_call(twilio, rng.choice(live_numbers), rng)
            done["live"] += 1
        elif kind >= 6:
            _auctioned_call(api, buyer, rng.sample(sellers, min(3, len(sellers))), ok)
            done["auctions"] += 1
        else:
            seller_index = (i * 7) % len(sellers)
            call_id = _reported_call(api, buyer, f"type{seller_index}", ok)
            done["reported"] += 1
            settled += 1
            if settled % workload.dispute_every == 0:
                seller = sellers[seller_index]
                ok(api.post(f"/calls/{call_id}/disputes", {"reason": "not a real caller"}, token=seller["token"]))
                decision = "accepted" if settled % (2 * workload.dispute_every) == 0 else "rejected"
                ok(api.put(f"/admin/disputes/{call_id}", {"decision": decision}, token=admin["token"]))
                done["disputes"] += 1
        if publish is not None and i % 100 == 99:
            publish()
    if publish is not None:
        publish()
    return done


def _reported_call(api, buyer: dict, call_type: str | None, ok) -> str:
    token = buyer["token"]
    body = {"from_number": CALLERS[0], "to_number": CALLEE, "direction": "inbound"}
    if call_type:
        body["call_type"] = call_type
    call_id = ok(api.post("/calls", body, token=token)).data["id"]
    _deliver(api, token, call_id, ok)
    return call_id


def _deliver(api, token: str, call_id: str, ok) -> None:
    ok(api.post(f"/calls/{call_id}/route", token=token))
    for status in ("ringing", "in_progress"):
        ok(api.call("PATCH", f"/calls/{call_id}/status", {"status": status}, token=token))
    ok(api.post(f"/calls/{call_id}/complete", {"duration": 95}, token=token))


def _auctioned_call(api, buyer: dict, bidders: list[dict], ok) -> None:
    token = buyer["token"]
    call_id = ok(api.post("/calls", {"from_number": CALLERS[1], "to_number": CALLEE, "direction": "inbound"},
                          token=token)).data["id"]
    auction_id = ok(api.post("/auctions", {"call_id": call_id, "reserve_price": "1.00", "duration": 60},
                             token=token)).data["id"]
    for n, seller in enumerate(bidders):
        ok(api.post("/bids", {"auction_id": auction_id, "amount": f"{2 + n}.00"}, token=seller["token"]))
    ok(api.post(f"/auctions/{auction_id}/complete", token=token))
    _deliver(api, token, call_id, ok)


def _buy_numbers(api, client, owners: list[dict], types: int, ok) -> list[str]:
    """Each owner buys one number that routes through the exchange, its calls of one type; the numbers."""
    from tests.api.test_numbers import run_provisioning

    bought = []
    for n, owner in enumerate(owners):
        found = ok(api.get("/numbers/search?area_code=415&limit=20", token=owner["token"])).data
        number = found[n % len(found)]["phone_number"]
        item = {"phone_number": number, "friendly_name": "Line",
                "configuration": {"routing": "exchange", "call_type": f"type{(n * 7) % types}"}}
        order = api.post("/numbers/purchase", {"numbers": [item]}, token=owner["token"])
        if order.status != 201:  # taken by an earlier owner's search: the next one
            continue
        ok(order)
        bought.append(number)
    run_provisioning(client)
    return bought


def _live_call(twilio, number: str, rng: random.Random) -> None:
    sid = "CA" + uuid.uuid4().hex
    response = twilio.voice(sid, from_number=rng.choice(CALLERS), to=number)
    assert response.status_code == 200 and b"<Dial" in response.body, response.body
    twilio.leg(sid, "in-progress")
    twilio.dial_action(sid, "completed", 75)
