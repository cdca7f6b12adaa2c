"""The base of every PynamoDB model: its own module, so the modules that define models beside their
persistence functions (connections, limits) and persistence/models.py, which lists them all, share it."""
from pynamodb.models import Model


class BaseModel(Model):
    """Table names and endpoints are bound at run time by persistence.configure()."""

    class Meta:
        table_name = None
        billing_mode = "PAY_PER_REQUEST"

    # Logical table name: the physical one is settings.table_name(logical).
    logical_name: str = ""
