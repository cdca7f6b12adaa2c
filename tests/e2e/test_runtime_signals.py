"""`make run` stops on Ctrl-C and SIGTERM whatever its parent left ignored.

A process started from a background job of a non-interactive shell inherits SIGINT ignored, and Python
then installs no KeyboardInterrupt handler: the runtime installs its own handlers for both signals."""
import signal
import subprocess
import sys

import pytest
import requests

from tests.e2e.conftest import RUNTIME, Runtime, free_port, runtime_environment

pytestmark = pytest.mark.e2e
# What a background job of a script does to its children, made explicit: SIGINT and SIGTERM ignored.
IGNORING = ("sh", "-c", 'trap "" INT TERM; exec "$@"', "sh")


def test_the_wrapper_starts_python_with_both_signals_ignored():
    probe = "import signal; print(*(signal.getsignal(s) is signal.SIG_IGN for s in (signal.SIGINT, signal.SIGTERM)))"
    result = subprocess.run([*IGNORING, sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["True", "True"], result.stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_runtime_started_with_signals_ignored_stops_every_part_on_the_signal(signum):
    port = free_port()
    runtime = Runtime([*IGNORING, *RUNTIME], runtime_environment(port))
    runtime.wait_ready()
    assert requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=30).status_code == 200
    assert runtime.stop(signum) == 0  # Runtime.stop fails the test with every thread's stack if it hangs
    # "Stopped." comes after the HTTP server, the dispatcher, the Twilio emulator and moto server stopped.
    assert runtime.all_output().rstrip().endswith("Stopped."), runtime.tail(40)
