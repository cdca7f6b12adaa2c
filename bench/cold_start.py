"""Cold-start import cost: median time to `import app` in a fresh interpreter, against a bare Chalice
app that imports boto3 (the usual baseline), printed as a ratio. Not part of the test run.

    .venv/bin/python bench/cold_start.py [runs]
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "import boto3\nfrom chalice import Chalice\napp = Chalice(app_name='baseline')\n"
TIMER = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def import_seconds(module: str, cwd: Path, runs: int) -> list[float]:
    env = {**os.environ, "JWT_SECRET": "bench", "AWS_DEFAULT_REGION": "us-east-1", "PYTHONDONTWRITEBYTECODE": "0"}
    subprocess.run([sys.executable, "-c", f"import {module}"], cwd=cwd, env=env, check=True)  # warm .pyc caches
    return [float(subprocess.run([sys.executable, "-c", TIMER.format(module=module)], cwd=cwd, env=env,
                                 check=True, capture_output=True, text=True).stdout) for _ in range(runs)]


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "baseline_app.py").write_text(BASELINE)
        baseline = statistics.median(import_seconds("baseline_app", Path(tmp), runs))
    product = statistics.median(import_seconds("app", ROOT, runs))
    print(f"runs per side:                 {runs}")
    print(f"bare Chalice + boto3 (median): {baseline * 1000:7.1f} ms")
    print(f"call exchange app (median):    {product * 1000:7.1f} ms")
    print(f"ratio app / baseline:          {product / baseline:7.2f}")


if __name__ == "__main__":
    main()
