"""The crash test's summary (its seed and counts) at the end of a run of tests/chaos, from its report's properties.
Under `make test`'s xdist the controller does not load this file: the test's own output has them (shown when it
fails, or with -s)."""
from __future__ import annotations

_summaries: list[tuple[str, object]] = []


def pytest_runtest_logreport(report) -> None:
    if report.when == "call":
        _summaries.extend((report.nodeid, value) for name, value in report.user_properties if name == "chaos")


def pytest_terminal_summary(terminalreporter) -> None:
    for nodeid, summary in _summaries:
        terminalreporter.write_sep("-", "chaos")
        terminalreporter.write_line(f"{nodeid}: {summary}")
