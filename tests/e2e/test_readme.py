"""The README works as written: its ```sh blocks, in order, in one bash, against the runtime `make run` starts.

Every answer is checked: `"success": true`, unless the README's comment on that line says
`answers <status> <code>`; a `shows <text>` comment must be in that line's answer. The outbound call's
callee is chosen by the hour, and that choice is checked against the product's own TCPA rule at every
hour of the year's two seasons and its clock changes, so the story passes at any hour.
"""
from __future__ import annotations

import base64
import builtins
import contextlib
import io
import json
import os
import re
import signal
import subprocess
import types
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.e2e.conftest import ADMIN_PASSWORD, ROOT, RUNTIME, Runtime, free_port, runtime_environment

pytestmark = pytest.mark.e2e
README = ROOT / "README.md"
SKIP = re.compile(r"^<!-- not run by tests/e2e/test_readme\.py: (.+) -->$")
ANSWERS = re.compile(r"#.*\banswers (\d{3}) ([A-Z_]+)")
SHOWS = re.compile(r"#.*\bshows (.+)$")
STORY_SECONDS = 300  # a bound for a broken runtime, not a timing: the story takes a few seconds


@dataclass
class Block:
    first_line: int  # 1-based README line of the block's first command line
    lines: list[str]
    skipped_because: str | None


def sh_blocks(text: str) -> list[Block]:
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if lines[i].strip() == "```sh":
            previous = lines[i - 1].strip() if i else ""
            reason = SKIP.match(previous)
            end = lines.index("```", i + 1)
            blocks.append(Block(i + 2, lines[i + 1:end], reason.group(1) if reason else None))
            i = end
        i += 1
    return blocks


def story_blocks() -> list[Block]:
    return [block for block in sh_blocks(README.read_text()) if block.skipped_because is None]


# --- the README as a text -------------------------------------------------------------------------

def test_the_readme_starts_with_make_run_and_make_test():
    first = sh_blocks(README.read_text())[0]
    assert [line.split("#")[0].strip() for line in first.lines] == ["make run", "make test"]
    assert first.skipped_because  # the test starts what `make run` starts (below), and is part of `make test`


def test_only_what_cannot_run_here_is_left_out_of_the_story():
    skipped = [block for block in sh_blocks(README.read_text()) if block.skipped_because]
    assert len(skipped) == 2, [b.lines[0] for b in skipped]  # make run / make test, and the AWS deployment
    assert any("sam deploy" in line for line in skipped[1].lines)
    assert len(story_blocks()) >= 8


def test_the_story_covers_every_role_and_the_numbers_come_from_a_search():
    story = "\n".join(line for block in story_blocks() for line in block.lines)
    assert '"account_type": "seller"' in story and "SELLER=$(" in story  # the seller is defined
    assert "numbers/search" in story and "pick data 0 phone_number" in story
    assert "+14155550123" not in story  # a hard-coded number not in the emulator's stock fails (21422)
    for body in re.findall(r"-d '(\{[^']*\})'", story):  # every literal body is complete JSON
        json.loads(body)


def test_nothing_in_the_readme_or_docs_points_outside_the_repo():
    for path in [README, *sorted((ROOT / "docs").rglob("*.md"))]:
        text = path.read_text()
        assert "../" not in re.sub(r"\.\.\./", "", text), f"{path.name} points outside the repo"
        assert "/work/" not in text and "shared/" not in text, path.name
        for target in re.findall(r"\]\(([^)#\s]+)\)", text):
            if not re.match(r"https?://", target):
                assert (path.parent / target).exists(), f"{path.name} links to {target}, which is not in the repo"


def test_the_glossary_says_who_earns_and_who_pays():
    glossary = README.read_text().split("## Who is who", 1)[1].split("\n## ", 1)[0]
    buyer = next(line for line in glossary.splitlines() if line.startswith("| **buyer**"))
    seller = next(line for line in glossary.splitlines() if line.startswith("| **seller**"))
    assert "earns" in buyer and "numbers" in buyer and "pays" in seller and "bids" in seller


def test_the_balance_view_describes_what_the_api_answers():
    from chalicelib.schemas.billing import AccountBalanceOut

    section = README.read_text().split("**7. The balance view.**", 1)[1].split("**8.", 1)[0]
    described = set(re.findall(r"^\| `(\w+)` \|", section, flags=re.M))
    assert described == set(AccountBalanceOut.model_fields) - {"currency"}
    assert "balance + credit_limit" in section


# --- the outbound call at any hour ----------------------------------------------------------------

def callee_chooser() -> str:
    """The Python of the README's `CALLEE=$(python3 -c '...')`."""
    story = "\n".join(line for block in story_blocks() for line in block.lines)
    match = re.search(r"CALLEE=\$\(python3 -c '(.*?)'\)", story, flags=re.S)
    assert match, "the README no longer chooses the outbound callee"
    return match.group(1)


def choose_callee(code: str, now: datetime) -> str:
    """Run the README's chooser as if the time were `now`."""
    class FrozenDatetime(datetime):
        @classmethod
        def now(cls, tz=None):
            return now.astimezone(tz)

    frozen = types.ModuleType("datetime")
    frozen.__dict__.update(__import__("datetime").__dict__)
    frozen.datetime = FrozenDatetime
    real_import = builtins.__import__

    def importer(name, *args, **kwargs):
        return frozen if name == "datetime" else real_import(name, *args, **kwargs)

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(code, {"__builtins__": {**builtins.__dict__, "__import__": importer}})  # noqa: S102
    return printed.getvalue().strip()


def refusal_at(callee: str, when: datetime):
    from chalicelib.config import get_settings
    from chalicelib.domain import compliance
    from chalicelib.domain.calls import OUTBOUND

    return compliance.check_call(direction=OUTBOUND, from_number="+14155552671", to_number=callee, now=when, dnc=None,
                                 window=compliance.DEFAULT_WINDOW, fallback_zone=get_settings().default_timezone,
                                 restricted_states=set())


def test_the_outbound_callee_is_within_calling_hours_at_any_hour():
    code = callee_chooser()
    # Winter and summer, and the days the US and the UK change their clocks (both ways), every 10 minutes.
    days = [datetime(2026, 1, 15), datetime(2026, 7, 15), datetime(2026, 3, 8), datetime(2026, 3, 29),
            datetime(2026, 10, 25), datetime(2026, 11, 1), datetime(2026, 3, 15)]
    problems = []
    for day in days:
        for minutes in range(0, 24 * 60, 10):
            now = day.replace(tzinfo=timezone.utc) + timedelta(minutes=minutes)
            callee = choose_callee(code, now)
            # still allowed half an hour later: a newcomer pastes the block some time after it chose
            for when in (now, now + timedelta(minutes=30)):
                refusal = refusal_at(callee, when)
                if refusal is not None:
                    problems.append(f"{now:%Y-%m-%d %H:%M}Z: {callee} {refusal.code} at {when:%H:%M}Z")
    assert not problems, problems[:10]


def test_the_hour_check_can_fail():
    """The rule the check above relies on does refuse a callee at night."""
    three_am_new_york = datetime(2026, 1, 15, 8, 0, tzinfo=timezone.utc)
    assert refusal_at("+12125552671", three_am_new_york).code == "TCPA_VIOLATION"
    assert choose_callee(callee_chooser(), three_am_new_york) != "+12125552671"


# --- the story, against `make run` ----------------------------------------------------------------

# Every curl of the story goes through this wrapper: it answers as curl does, and records the README line
# that called it (BASH_LINENO), the status and the body.
HARNESS = r"""set -euo pipefail
shopt -s inherit_errexit
curl() {
  local body status url=""
  body=$(mktemp "$README_RUN/body.XXXXXX")
  status=$(command curl -w '%{http_code}' -o "$body" "$@")
  for arg in "$@"; do case "$arg" in http*) url=$arg;; esac; done
  printf '%s\t%s\t%s\t%s\n' "${BASH_LINENO[0]}" "$status" "$url" "$(base64 -w0 < "$body")" >> "$README_RUN/answers"
  cat "$body"; echo
}
"""


@dataclass
class Answer:
    readme_line: int
    status: int
    url: str
    body: str


@pytest.fixture(scope="module")
def make_run():
    """A fresh runtime, as `make run` starts it (real time, no clock control): the story sees the product as
    a newcomer does, with no users, rules or traffic from the other end-to-end tests."""
    port = free_port()
    env = runtime_environment(port, TWILIO_EMULATOR_PORT=str(free_port()), WS_PORT=str(free_port()))
    runtime = Runtime(RUNTIME, env)
    try:
        runtime.wait_ready()
        yield {"API": f"http://127.0.0.1:{port}/api/v1", "EMULATOR": runtime.printed("Twilio emulator"),
               "runtime": runtime}
    finally:
        if runtime.process.poll() is None:
            assert runtime.stop(signal.SIGINT) == 0, runtime.tail(40)


def run_story(make_run, workdir: Path) -> list[Answer]:
    script, line_map = [HARNESS], {}
    offset = HARNESS.count("\n")
    for block in story_blocks():
        for i, line in enumerate(block.lines):
            line_map[offset + 1] = block.first_line + i
            script.append(line + "\n")
            offset += 1
    (workdir / "story.sh").write_text("".join(script))
    env = {**os.environ, "API": make_run["API"], "EMULATOR": make_run["EMULATOR"], "ADMIN_PASSWORD": ADMIN_PASSWORD,
           "README_RUN": str(workdir)}
    result = subprocess.run(["bash", str(workdir / "story.sh")], cwd=workdir, env=env, capture_output=True,
                            text=True, timeout=STORY_SECONDS)
    answers = []
    if (workdir / "answers").exists():
        for row in (workdir / "answers").read_text().splitlines():
            line, status, url, body = row.split("\t")
            answers.append(Answer(line_map.get(int(line), -int(line)), int(status), url,
                                  base64.b64decode(body).decode()))
    last = answers[-1] if answers else None
    assert result.returncode == 0, (
        f"the story stopped (exit {result.returncode}) after README line {last and last.readme_line}: "
        f"{last and last.body[:500]}\n--- stderr\n{result.stderr[-3000:]}\n--- runtime\n"
        + make_run["runtime"].tail(30))
    return answers


def command_at(readme: list[str], line: int) -> str:
    """The README command around a 1-based line, with its backslash-continued lines (bash reports a
    continued command by its first line, and one inside $(...) by its last)."""
    if line <= 0:
        return ""
    start = end = line - 1
    while start > 0 and readme[start - 1].endswith("\\"):
        start -= 1
    while end < len(readme) - 1 and readme[end].endswith("\\"):
        end += 1
    return " ".join(readme[start:end + 1])


def test_the_readme_story_runs_against_make_run(make_run, tmp_path):
    answers = run_story(make_run, tmp_path)
    readme = README.read_text().splitlines()
    problems, annotated_seen = [], set()
    for answer in answers:
        line = command_at(readme, answer.readme_line)
        where = f"README line {answer.readme_line} ({answer.status} {answer.url})"
        expected_error = ANSWERS.search(line)
        if expected_error:
            annotated_seen.add(line)
            status, code = int(expected_error.group(1)), expected_error.group(2)
            if answer.status != status or json.loads(answer.body)["error"]["code"] != code:
                problems.append(f"{where}: expected {status} {code}, got {answer.body[:300]}")
            continue
        if answer.status >= 400:
            problems.append(f"{where}: {answer.body[:300]}")
            continue
        if answer.url.startswith(make_run["API"]) and answer.status != 204:
            if json.loads(answer.body).get("success") is not True:
                problems.append(f"{where}: not a success: {answer.body[:300]}")
        shown = SHOWS.search(line)
        if shown:
            annotated_seen.add(line)
            if shown.group(1).strip() not in answer.body:
                problems.append(f"{where}: should show {shown.group(1).strip()}: {answer.body[:600]}")
    errors = [line[:2000] for line in make_run["runtime"].output if '"level":"ERROR"' in line]
    assert not problems, "\n".join(problems) + "\n--- the runtime's errors\n" + "".join(errors[-3:])
    annotated = {command_at(readme, block.first_line + i) for block in story_blocks()
                 for i, line in enumerate(block.lines) if ANSWERS.search(line) or SHOWS.search(line)}
    assert annotated <= annotated_seen, f"annotated README commands no answer reached: {annotated - annotated_seen}"
    assert len(answers) >= 40  # the whole story ran, not its first block
