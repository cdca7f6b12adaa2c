"""Cold start of the package Lambda runs: `make package`'s deployment.zip (with its bytecode), unpacked
into a read-only folder, `import app` against importing the same libraries alone from that folder. Both
sides run as Lambda does: a fresh interpreter, PYTHONDONTWRITEBYTECODE=1, nothing else on sys.path.

    .venv/bin/python bench/package_start.py [out/deployment.zip]
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 15
FLOOR = "import chalice, boto3, pynamodb, pydantic, jwt, phonenumbers, aws_lambda_powertools.logging"
APP = "import app"


def timed(code: str, task_root: Path) -> float:
    """CPU seconds of one fresh interpreter importing `code` from task_root only."""
    program = ("import resource, sys, time\n"
               f"sys.path[:0] = [{str(task_root)!r}]\n"
               f"{code}\n"
               "usage = resource.getrusage(resource.RUSAGE_SELF)\n"
               "print(usage.ru_utime + usage.ru_stime)")
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", "LAMBDA_TASK_ROOT": str(task_root),
           "AWS_DEFAULT_REGION": "us-east-1", "STAGE": "bench", "JWT_SECRET": "x" * 48}
    out = subprocess.run([sys.executable, "-S", "-c", program], env=env, cwd=task_root, capture_output=True,
                         text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    package = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "out" / "deployment.zip"
    if not package.exists():
        raise SystemExit(f"{package} is missing: run `make package` first")
    with tempfile.TemporaryDirectory() as folder:
        task_root = Path(folder) / "task"
        zipfile.ZipFile(package).extractall(task_root)
        pycs = sum(1 for _ in task_root.rglob("*.pyc"))
        for path in task_root.rglob("*"):
            path.chmod(path.stat().st_mode & ~0o222)  # read-only, as /var/task is
        floor, app = [], []
        timed(APP, task_root), timed(FLOOR, task_root)  # warm the file cache first
        for _ in range(RUNS):
            floor.append(timed(FLOOR, task_root))
            app.append(timed(APP, task_root))
        for path in task_root.rglob("*"):
            path.chmod(path.stat().st_mode | 0o200)
        shutil.rmtree(task_root)
    f, a = statistics.median(floor) * 1000, statistics.median(app) * 1000
    print(f"package {package.name}: {pycs} .pyc files; {RUNS} interleaved runs a side, CPU time, read-only, "
          "PYTHONDONTWRITEBYTECODE=1")
    print(f"  libraries alone {f:7.1f} ms   import app {a:7.1f} ms   ratio {a / f:4.2f}  (goal <= 1.2)")


if __name__ == "__main__":
    main()
