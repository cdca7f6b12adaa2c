"""Schemathesis against the running product: no 5xx, every response as the OpenAPI document says."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, ROOT, running_product

pytestmark = pytest.mark.e2e
# `make test` runs the examples, fuzzing and stateful phases at 5 examples per route (its time budget: every
# route adds to it; the coverage phase alone took 2 minutes at 100 operations); `make fuzz` runs every phase,
# deeper (SCHEMATHESIS_MAX_EXAMPLES, 100 by default).
MAX_EXAMPLES = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "5")
PHASES = os.environ.get("SCHEMATHESIS_PHASES", "examples,fuzzing,stateful")
CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.fixture(scope="module")
def own_product():
    """A runtime of its own: this long run is its own xdist group (tests/conftest.py), beside the others."""
    with running_product() as product:
        yield product


def test_no_server_errors_and_responses_match_the_schema(own_product):
    product = own_product
    admin = product.login(ADMIN_EMAIL, ADMIN_PASSWORD)["tokens"]["access_token"]
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "run", product.url("/openapi.json"),
        "--header", f"Authorization: Bearer {admin}",
        # Every check is schemathesis' default; `--checks all` would also switch back on the checks that
        # schemathesis.toml turns off for one operation (command-line settings override the file's).
        # next_token is an opaque, signed cursor: no schema can say which strings are valid and a made-up
        # one is rightly a 400, so "any schema-valid input is accepted" cannot hold for list routes.
        # Cursors are tested with real tokens in tests/api.
        "--exclude-checks", "positive_data_acceptance",
        "--exclude-path", "/auth/logout",  # it would end the admin session the rest of the run uses
        "--max-examples", MAX_EXAMPLES,
        "--phases", PHASES,
        "--seed", "20261122",
        "--no-color",
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900 + 30 * int(MAX_EXAMPLES))
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
