"""What `make run` keeps across a restart (local/snapshot.py, local/data_folder.py), against in-process moto:
a snapshot restores tables, items, indexes, TTL, queues and messages; one taken while transactions run never
holds half of one; nothing is written when nothing changed; a failed write leaves the previous snapshot."""
from __future__ import annotations

import contextlib
import os
import stat
import sys
import threading
import time
from decimal import Decimal

import boto3
import pytest
import requests

from local import atomic_moto, snapshot
from local.data_folder import ADMIN_PASSWORD, JWT_SECRET, SNAPSHOT, DataFolder, FolderInUse

REGION = "us-east-1"
BOUND_SECONDS = 10  # a bound for a broken test, never a pause


@pytest.fixture(autouse=True)
def atomic_sqs():
    """The SQS lock the runtime installs (local/atomic_moto.py); transparent to every other test."""
    atomic_moto.make_sqs_requests_atomic()


@pytest.fixture
def dynamodb(aws):
    return boto3.client("dynamodb", region_name=REGION)


@pytest.fixture
def sqs(aws):
    from chalicelib.gateways import queues

    return queues._client()


def _backends():
    from moto.dynamodb.models import dynamodb_backends
    from moto.sqs.models import sqs_backends

    return ([backend for regions in dynamodb_backends.values() for backend in regions.values()],
            [backend for regions in sqs_backends.values() for backend in regions.values()])


@contextlib.contextmanager
def moto_restarted(state: dict):
    """moto as a new process finds it (no table, no queue), then `state` restored into it; afterwards the
    objects of before are put back, whatever happened, for the tests that follow."""
    tables, queues = _backends()
    kept_tables, kept_queues = [backend.tables for backend in tables], [backend.queues for backend in queues]
    for backend in tables:
        backend.tables = type(backend.tables)()
    for backend in queues:
        backend.queues = {}
    try:
        yield snapshot.restore(state)
    finally:
        for backend, objects in zip(tables, kept_tables):
            backend.tables = objects
        for backend, objects in zip(queues, kept_queues):
            backend.queues = objects


def settings():
    from chalicelib.config import get_settings

    return get_settings()


def queue_url(sqs, logical: str) -> str:
    return sqs.get_queue_url(QueueName=settings().queue_name(logical))["QueueUrl"]


def test_a_snapshot_brings_back_tables_items_indexes_ttl_queues_and_messages(dynamodb, sqs, tmp_path):
    from chalicelib.gateways.queues import AUCTION_CLOSING, NOTIFICATIONS

    users = settings().table_name("users")
    for n, account_type in enumerate(["seller", "buyer", "seller"]):
        dynamodb.put_item(TableName=users, Item={
            "user_id": {"S": f"user-{n}"}, "account_type": {"S": account_type}, "type_key": {"S": f"{account_type}#0"},
            "created_at": {"S": f"2026-11-02T15:00:0{n}+00:00"}, "kind": {"S": "user"}, "email": {"S": f"{n}@x.io"}})
    notifications, closing = queue_url(sqs, NOTIFICATIONS), queue_url(sqs, AUCTION_CLOSING)
    sqs.send_message(QueueUrl=notifications, MessageBody='{"in flight": true}')
    [in_flight] = sqs.receive_message(QueueUrl=notifications, VisibilityTimeout=600)["Messages"]
    assert in_flight["Body"] == '{"in flight": true}'
    sqs.send_message(QueueUrl=notifications, MessageBody='{"queued": true}')
    sqs.send_message(QueueUrl=closing, MessageBody='{"auction_id": "a-1"}', DelaySeconds=900)

    # Through the file, as the runtime does.
    snapshot.write(snapshot.capture(), tmp_path / SNAPSHOT)
    header, state = snapshot.read(tmp_path / SNAPSHOT)
    assert header["contents"]["items"] >= 3 and header["contents"]["messages"] == 3

    with moto_restarted(state) as contents:
        assert contents.tables == header["contents"]["tables"] and contents.messages == 3
        assert dynamodb.get_item(TableName=users, Key={"user_id": {"S": "user-1"}})["Item"]["email"]["S"] == "1@x.io"
        sellers = dynamodb.query(TableName=users, IndexName="by_type", KeyConditionExpression="type_key = :t",
                                 ExpressionAttributeValues={":t": {"S": "seller#0"}})["Items"]
        assert sorted(item["user_id"]["S"] for item in sellers) == ["user-0", "user-2"]
        ttl = dynamodb.describe_time_to_live(TableName=settings().table_name("sessions"))["TimeToLiveDescription"]
        assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "purge_at"}

        attributes = sqs.get_queue_attributes(QueueUrl=notifications, AttributeNames=["All"])["Attributes"]
        assert '"deadLetterTargetArn"' in attributes["RedrivePolicy"]
        assert attributes["ApproximateNumberOfMessages"] == "1"
        assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"  # still in flight, as SQS would have it
        delayed = sqs.get_queue_attributes(QueueUrl=closing, AttributeNames=["All"])["Attributes"]
        assert delayed["ApproximateNumberOfMessagesDelayed"] == "1"
        [message] = sqs.receive_message(QueueUrl=notifications)["Messages"]
        assert message["Body"] == '{"queued": true}'
        _, queues = _backends()
        queue = next(q for b in queues for q in b.queues.values() if q.name == settings().queue_name(NOTIFICATIONS))
        dead_letter = next(q for b in queues for q in b.queues.values() if q.queue_arn == queue.redrive_policy[
            "deadLetterTargetArn"])
        assert queue.dead_letter_queue is dead_letter  # the redrive target is the restored queue itself


def test_a_message_delayed_before_the_snapshot_is_delivered_after_the_restore(sqs):
    from chalicelib.gateways.queues import NOTIFICATIONS

    url = queue_url(sqs, NOTIFICATIONS)
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)
    state = snapshot.load(snapshot.capture().body)
    with moto_restarted(state):
        assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []  # still delayed
        deadline, received = time.monotonic() + BOUND_SECONDS, []
        while not received and time.monotonic() < deadline:  # a long poll: woken when the delay ends
            received = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
        assert [m["Body"] for m in received] == ["later"]


def test_snapshots_taken_while_transactions_run_never_hold_half_of_one(dynamodb, sqs):
    """Two threads move money between two items in transactions (and a third churns a queue) while snapshots
    are taken: in every snapshot the two balances add up to what they started with."""
    table = "snapshot-consistency"
    dynamodb.create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST")
    for pk in ("a", "b"):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": pk}, "amount": {"N": "1000"}})
    churn = sqs.create_queue(QueueName="snapshot-churn")["QueueUrl"]
    stop, moved, failures = threading.Event(), [0], []

    def move(source: str, target: str) -> None:
        client = boto3.client("dynamodb", region_name=REGION)
        try:
            while not stop.is_set():
                client.transact_write_items(TransactItems=[
                    {"Update": {"TableName": table, "Key": {"pk": {"S": pk}},
                                "UpdateExpression": f"SET amount = amount {sign} :x",
                                "ExpressionAttributeValues": {":x": {"N": "7"}}}}
                    for pk, sign in ((source, "-"), (target, "+"))])
                moved[0] += 1
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(error)

    def churn_queue() -> None:
        client = boto3.client("sqs", region_name=REGION)
        try:
            while not stop.is_set():
                client.send_message(QueueUrl=churn, MessageBody="x")
                for message in client.receive_message(QueueUrl=churn, MaxNumberOfMessages=10).get("Messages", []):
                    client.delete_message(QueueUrl=churn, ReceiptHandle=message["ReceiptHandle"])
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(error)

    workers = [threading.Thread(target=move, args=("a", "b")), threading.Thread(target=move, args=("b", "a")),
               threading.Thread(target=churn_queue)]
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # threads take turns every few bytecodes: a snapshot lands mid-transaction if it can
    for worker in workers:
        worker.start()
    sums = []
    try:
        deadline = time.monotonic() + BOUND_SECONDS
        while (len(sums) < 100 or moved[0] < 100) and time.monotonic() < deadline and not failures:
            state = snapshot.load(snapshot.capture().body)
            [items] = [t.items.values() for _, _, tables in state["dynamodb"] for t in tables if t.name == table]
            assert sorted(item.hash_key.value for item in items) == ["a", "b"]
            sums.append(sum(Decimal(item.attrs["amount"].value) for item in items))
    finally:
        sys.setswitchinterval(switch_interval)
        stop.set()
        for worker in workers:
            worker.join()
        dynamodb.delete_table(TableName=table)
    assert not failures, failures
    assert moved[0] >= 100 and len(sums) >= 100, (moved[0], len(sums))  # snapshots taken among many transactions
    assert set(sums) == {Decimal(2000)}


def test_a_snapshot_is_written_only_when_something_changed(dynamodb, tmp_path):
    users = settings().table_name("users")
    snapshotter = snapshot.Snapshotter(tmp_path / SNAPSHOT, seconds=5)
    assert snapshotter.snapshot() is True
    assert snapshotter.snapshot() is False  # idle: nothing to write
    dynamodb.get_item(TableName=users, Key={"user_id": {"S": "nobody"}})
    dynamodb.scan(TableName=users)
    assert snapshotter.snapshot() is False  # reads change nothing
    dynamodb.put_item(TableName=users, Item={"user_id": {"S": "u"}, "email": {"S": "u@x.io"}})
    assert snapshotter.snapshot() is True
    assert snapshotter.stop() is False and snapshotter.taken == 2


def test_the_periodic_snapshot_comes_within_its_interval(dynamodb, tmp_path):
    snapshotter = snapshot.Snapshotter(tmp_path / SNAPSHOT, seconds=0.05).start()
    try:
        dynamodb.put_item(TableName=settings().table_name("users"), Item={"user_id": {"S": "u"}})
        written_at = time.time()
        deadline = time.monotonic() + BOUND_SECONDS
        while time.monotonic() < deadline and not (
                (tmp_path / SNAPSHOT).exists() and snapshot.read_header(tmp_path / SNAPSHOT)["taken_at"] > written_at):
            time.sleep(0.01)  # the polling interval
        assert snapshot.read_header(tmp_path / SNAPSHOT)["taken_at"] > written_at
    finally:
        snapshotter.stop()


def test_a_snapshot_that_fails_to_be_written_leaves_the_previous_one(dynamodb, tmp_path, monkeypatch):
    path = tmp_path / SNAPSHOT
    snapshot.write(snapshot.capture(), path)
    previous = path.read_bytes()
    dynamodb.put_item(TableName=settings().table_name("users"), Item={"user_id": {"S": "u"}})

    def power_cut(fd):
        raise OSError("killed while writing")

    monkeypatch.setattr(os, "fsync", power_cut)
    with pytest.raises(OSError):
        snapshot.write(snapshot.capture(), path)
    monkeypatch.undo()
    assert path.read_bytes() == previous and sorted(p.name for p in tmp_path.iterdir()) == [SNAPSHOT]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_damaged_or_foreign_file_is_refused(tmp_path, aws):
    path = tmp_path / SNAPSHOT
    snapshot.write(snapshot.capture(), path)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(snapshot.SnapshotError, match="damaged"):
        snapshot.read(path)
    path.write_text("hello")
    with pytest.raises(snapshot.SnapshotError, match="not a snapshot"):
        snapshot.read(path)


def test_the_twilio_account_and_the_clock_offset_are_kept(aws):
    from local.clock import LocalClock
    from local.twilio_emulator import TwilioEmulator

    with TwilioEmulator() as first:
        bought = requests.post(f"{first.url}/2010-04-01/Accounts/{first.account_sid}/IncomingPhoneNumbers.json",
                               data={"PhoneNumber": "+15005550006", "VoiceUrl": "http://127.0.0.1:9/voice"},
                               auth=(first.account_sid, first.auth_token), timeout=30)
        assert bought.status_code == 201, bought.text
        clock = LocalClock()  # not installed: its offset only
        clock.advance(3600)
        version = first.version
        taken = snapshot.capture(first, clock)
        assert first.version == version and taken.header["contents"]["numbers"] == 1
    state = snapshot.load(taken.body)
    with TwilioEmulator() as second:
        later = LocalClock()
        snapshot.restore({"dynamodb": [], "sqs": [], "twilio": state["twilio"], "clock_offset": state["clock_offset"]},
                         second, later)
        [number] = second.owned_numbers()
        assert number["phone_number"] == "+15005550006" and number["voice_url"] == "http://127.0.0.1:9/voice"
        assert later.offset == 3600


def test_the_stripe_account_is_kept(aws):
    from local.stripe_emulator import StripeEmulator

    with StripeEmulator() as first:
        made = requests.post(f"{first.url}/v1/payment_intents", headers={"Authorization": f"Bearer {first.secret_key}"},
                             data={"amount": "2500", "currency": "usd", "payment_method": "pm_card_visa",
                                   "confirm": "true"}, timeout=30)
        assert made.status_code == 200, made.text
        before = snapshot.signature(stripe=first)
        taken = snapshot.capture(stripe=first)
        assert snapshot.signature(stripe=first) == before
    state = snapshot.load(taken.body)
    with StripeEmulator() as second:
        snapshot.restore({"dynamodb": [], "sqs": [], "stripe": state["stripe"]}, stripe=second)
        fetched = requests.get(f"{second.url}/v1/payment_intents/{made.json()['id']}", timeout=30,
                               headers={"Authorization": f"Bearer {second.secret_key}"})
        assert fetched.json()["status"] == "succeeded"
        assert second.event("payment_intent.succeeded", made.json()["id"])


def test_a_resumed_table_gets_the_indexes_its_model_now_declares(dynamodb):
    from local.provision import update_indexes

    users = settings().table_name("users")
    tables, _ = _backends()
    table = next(b.tables[users] for b in tables if users in b.tables)
    kept = table.global_indexes
    table.global_indexes = [index for index in kept if index.name != "by_type"]  # as an older definition made it
    try:
        dynamodb.put_item(TableName=users, Item={"user_id": {"S": "u"}, "account_type": {"S": "seller"},
                                                 "type_key": {"S": "seller#0"}, "created_at": {"S": "2026-11-02"}})
        assert "+users.by_type" in update_indexes()
        found = dynamodb.query(TableName=users, IndexName="by_type", KeyConditionExpression="type_key = :t",
                               ExpressionAttributeValues={":t": {"S": "seller#0"}})["Items"]
        assert [item["user_id"]["S"] for item in found] == ["u"]  # the items from before, in the new index
        assert update_indexes() == []
    finally:
        table.global_indexes = kept


def test_the_data_folder_keeps_a_private_jwt_secret_and_one_runtime_at_a_time(tmp_path):
    folder = DataFolder(tmp_path / "data").lock()
    try:
        secret = folder.jwt_secret()
        assert len(secret) >= 32 and folder.jwt_secret() == secret
        assert stat.S_IMODE((folder.path / JWT_SECRET).stat().st_mode) == 0o600
        folder.remember_admin_password("admin@example.com", "Adm1n!x")
        assert folder.admin_password("admin@example.com") == "Adm1n!x" and folder.admin_password("other@x.io") is None
        assert stat.S_IMODE((folder.path / ADMIN_PASSWORD).stat().st_mode) == 0o600
        with pytest.raises(FolderInUse, match="another `make run`"):
            DataFolder(tmp_path / "data").lock()
        (folder.path / "notes.txt").write_text("not ours")
        (folder.path / f".{SNAPSHOT}.123.tmp").write_bytes(b"half")
        assert sorted(folder.empty()) == sorted([JWT_SECRET, ADMIN_PASSWORD])
        assert sorted(p.name for p in folder.path.iterdir()) == ["lock", "notes.txt"]  # what is not ours stays
        assert folder.jwt_secret() != secret
    finally:
        folder.unlock()
    DataFolder(tmp_path / "data").lock().unlock()  # free again once its holder let go
