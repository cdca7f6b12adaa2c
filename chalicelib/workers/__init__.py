"""SQS and scheduled handlers. Each invocation binds the tables once, in `bind_tables` (app.py
registers it as middleware for every worker event), as http.py does for every route."""
from chalicelib.persistence.db import configure


def bind_tables(event, get_response):
    configure()
    return get_response(event)
