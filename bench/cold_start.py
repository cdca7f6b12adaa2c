"""Cold-start import cost: `import app` against the runtime-library floor, as a ratio (the goal: <= 1.2).

The floor is importing the libraries every Lambda of this app loads anyway: chalice, boto3, pynamodb,
pydantic, jwt, phonenumbers and aws_lambda_powertools' logging. Both sides are timed in a fresh
interpreter per run, interleaved (floor, app, floor, app, ...) so that a machine busy with something
else slows both alike; each side's median is reported. Wall-clock time is what a cold start waits;
CPU time (the interpreter's own, not time spent waiting for a core) is the steadier figure on a shared
machine. Byte-code caches are used, as a deployment ships them. Then what `import app` loads beyond
the floor, by package, says where the difference goes. Not part of the test run.

    .venv/bin/python bench/cold_start.py [runs per side, default 15]
"""
from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOOR = "import chalice, boto3, pynamodb, pydantic, jwt, phonenumbers\nimport aws_lambda_powertools.logging"
APP = "import app"
TIMER = ("import time\nw, c = time.perf_counter(), time.process_time()\n{code}\n"
         "print(time.perf_counter() - w, time.process_time() - c)")
GOAL = 1.2
ENV = {**os.environ, "JWT_SECRET": "bench", "AWS_DEFAULT_REGION": "us-east-1", "PYTHONDONTWRITEBYTECODE": "0"}


def timed(code: str) -> tuple[float, float]:
    """(wall, cpu) seconds of `code` in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", TIMER.format(code=code)], cwd=ROOT, env=ENV, check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1])


def loaded_beyond_floor(runs: int = 3) -> dict[str, float]:
    """Milliseconds (python -X importtime: each module's own time, the least of `runs` runs) of what
    `import app` loads that the floor does not, by package (ours by subpackage)."""
    def self_times(code: str) -> dict[str, int]:
        err = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=ROOT, env=ENV, check=True,
                             capture_output=True, text=True).stderr
        return {m[2]: int(m[1]) for m in re.finditer(r"import time:\s+(\d+) \|\s+\d+ \| *(\S+)", err)}

    floor = self_times(FLOOR)
    samples = [self_times(APP) for _ in range(runs)]
    app = {module: min(sample.get(module, micros) for sample in samples) for module, micros in samples[0].items()}
    groups: dict[str, float] = {}
    for module, micros in app.items():
        if module not in floor:
            parts = module.split(".")
            group = ".".join(parts[:2]) if parts[0] == "chalicelib" else parts[0]
            groups[group] = groups.get(group, 0.0) + micros / 1000
    return dict(sorted(groups.items(), key=lambda item: -item[1]))


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    for code in (FLOOR, APP):  # write and warm the .pyc caches, untimed
        timed(code)
    floor: list[tuple[float, float]] = []
    app: list[tuple[float, float]] = []
    for _ in range(runs):
        floor.append(timed(FLOOR))
        app.append(timed(APP))
    print(f"runs per side (interleaved, fresh interpreter each): {runs}")
    print("floor: chalice, boto3, pynamodb, pydantic, jwt, phonenumbers, aws_lambda_powertools.logging")
    for i, kind in enumerate(("wall-clock", "CPU")):
        f = statistics.median(run[i] for run in floor)
        a = statistics.median(run[i] for run in app)
        print(f"{kind:>10}: floor {f * 1000:6.1f} ms   import app {a * 1000:6.1f} ms   "
              f"ratio {a / f:4.2f}  ({'met' if a / f <= GOAL else 'NOT met'}: goal <= {GOAL})")
    beyond = loaded_beyond_floor()
    print(f"what import app loads beyond the floor (-X importtime, own ms, least of 3): {sum(beyond.values()):.1f}")
    for group, ms in list(beyond.items())[:10]:
        print(f"  {ms:6.1f}  {group}")


if __name__ == "__main__":
    main()
