"""The base of every PynamoDB model, and the admin listing index some tables share. The table modules
(persistence/tables/) import only this module, so nothing they declare can form an import circle."""
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


EVERYTHING = "ALL"  # the `listing` of every item a table lists for admins (Everything)


def everything_index(range_key: str, range_attribute: type = UTCDateTimeAttribute) -> GlobalSecondaryIndex:
    """An index of every item of a table under one key, newest first: what an admin lists across users.
    One partition takes each of the table's writes, which bounds the table near 1,000 writes a second
    (a sharded key would lift that, at the price of merging shards on read)."""
    meta = type("Meta", (), {"index_name": "everything", "projection": AllProjection()})
    index = type("Everything", (GlobalSecondaryIndex,), {
        "Meta": meta, "listing": UnicodeAttribute(hash_key=True), range_key: range_attribute(range_key=True)})
    return index()
