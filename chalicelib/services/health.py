"""Whether the service's parts answer: each probe is one cheap call the functions' role may make."""
from __future__ import annotations

from chalicelib.persistence.tables import UserModel

HEALTH_PROBE_KEY = "health-probe"  # never a user id (those are UUIDs)


def components() -> dict[str, str]:
    return {"dynamodb": _probe(_dynamodb_reachable), "sqs": _probe(_sqs_reachable)}


def _probe(check) -> str:
    try:
        return "ok" if check() else "unavailable"
    except Exception:  # a health check reports failures, it does not raise them
        return "unavailable"


def _dynamodb_reachable() -> bool:
    """A GetItem of a key that does not exist (DescribeTable, what PynamoDB's exists calls, is not granted)."""
    try:
        UserModel.get(HEALTH_PROBE_KEY)
    except UserModel.DoesNotExist:
        pass
    return True


def _sqs_reachable() -> bool:
    from chalicelib.gateways.queues import NOTIFICATIONS, queue_url  # noqa: PLC0415 - boto3 only when probed

    return bool(queue_url(NOTIFICATIONS))
