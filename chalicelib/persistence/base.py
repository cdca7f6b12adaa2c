"""The base of every PynamoDB model, the admin listing index some tables share, and sharded keys. The table
modules (persistence/tables/) import only this module (and the settings), so nothing they declare can form
an import circle."""
import hashlib

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model


class BaseModel(Model):
    """Table names and endpoints are bound at run time by persistence.db.configure()."""

    class Meta:
        table_name = None
        billing_mode = "PAY_PER_REQUEST"

    # Logical table name: the physical one is settings.table_name(logical).
    logical_name: str = ""
    # Sharded index keys a new item gets from its own hash key: {attribute: prefix}, e.g. {"listing": "ALL"}
    # puts it under "ALL#<shard>" of the everything index (set here so that no writer can forget it).
    sharded_keys: dict[str, str] = {}
    sharded_by: str | None = None  # the attribute hashed (the hash key's, unless it names another)

    def __init__(self, hash_key=None, range_key=None, _user_instantiated=True, **attributes):
        super().__init__(hash_key, range_key, _user_instantiated, **attributes)
        if _user_instantiated and self.sharded_keys:
            entity = getattr(self, self.sharded_by or self._hash_key_attribute().attr_name)
            for name, prefix in self.sharded_keys.items():
                if getattr(self, name) is None and entity is not None:
                    setattr(self, name, shard_key(prefix, entity))


def shard_count() -> int:
    from chalicelib.config import get_settings

    return get_settings().partition_shards


def shard_of(entity_id: str, shards: int | None = None) -> int:
    """A stable, even hash of an id over `shards` (the partition_shards setting by default)."""
    digest = hashlib.blake2b(entity_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % (shards or shard_count())


def shard_key(prefix: str, entity_id: str) -> str:
    """`prefix#k`: the one of the prefix's shards that `entity_id` hashes to."""
    return f"{prefix}#{shard_of(entity_id)}"


def shard_keys(prefix: str) -> list[str]:
    """Every shard of `prefix`: what a reader of all of them queries (in parallel, merged)."""
    return [f"{prefix}#{shard}" for shard in range(shard_count())]


EVERYTHING = "ALL"  # the `listing` prefix of every item a table lists for admins (Everything), in shards


def everything_index(range_key: str, range_attribute: type = UTCDateTimeAttribute,
                     projection: type = AllProjection) -> GlobalSecondaryIndex:
    """An index of every item of a table, newest first: what an admin lists across users. Keyed by one of
    partition_shards shards ("ALL#<k>", by a hash of the item's key: BaseModel.sharded_keys), so no
    partition takes every write of the table; a list reads the shards and merges them
    (pagination.paginate_shards)."""
    meta = type("Meta", (), {"index_name": "everything", "projection": projection()})
    index = type("Everything", (GlobalSecondaryIndex,), {
        "Meta": meta, "listing": UnicodeAttribute(hash_key=True), range_key: range_attribute(range_key=True)})
    return index()
