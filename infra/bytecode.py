"""Compiles a Chalice deployment package to bytecode for Lambda's Python.

    python -m infra.bytecode out/deployment.zip

`chalice package` zips sources only, and Lambda's /var/task is read-only: without .pyc files every
cold start compiles every module it imports (app, chalicelib and the libraries), about 0.9 s of CPU.
The bytecode is compiled for the Python that .chalice/config.json names ("lambda_python"), by that same
Python (bytecode is version-specific), with unchecked-hash invalidation so it is used whatever the
files' timestamps, and with /var/task paths in tracebacks.
"""
from __future__ import annotations

import compileall
import json
import py_compile
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAMBDA_TASK_ROOT = "/var/task"


def lambda_python() -> str:
    return json.loads((ROOT / ".chalice" / "config.json").read_text())["lambda_python"]


def compile_package(package: Path) -> int:
    """Rewrites the zip with fresh bytecode for every module (any .pyc it carried, e.g. copied from a
    developer's __pycache__ with timestamp checks, is left out); returns how many modules were compiled."""
    wanted, running = lambda_python(), f"{sys.version_info.major}.{sys.version_info.minor}"
    if wanted != running:
        raise SystemExit(f"Lambda runs Python {wanted} (.chalice/config.json): compile with it, not {running}")
    with tempfile.TemporaryDirectory() as folder:
        tree = Path(folder) / "task"
        with zipfile.ZipFile(package) as source:
            entries = [(entry, source.read(entry)) for entry in source.infolist()
                       if not entry.filename.endswith(".pyc")]
        for entry, data in entries:
            if not entry.is_dir() and entry.filename.endswith(".py"):
                (tree / entry.filename).parent.mkdir(parents=True, exist_ok=True)
                (tree / entry.filename).write_bytes(data)
        if not compileall.compile_dir(tree, quiet=1, force=True, stripdir=str(tree), prependdir=LAMBDA_TASK_ROOT,
                                      invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH):
            raise SystemExit(f"{package}: a module did not compile")
        pycs = sorted(tree.rglob("*.pyc"))
        rewritten = package.with_suffix(".tmp")
        with zipfile.ZipFile(rewritten, "w", compression=zipfile.ZIP_DEFLATED) as target:
            for entry, data in entries:
                target.writestr(entry, data)
            for pyc in pycs:
                target.write(pyc, pyc.relative_to(tree).as_posix())
        rewritten.replace(package)
    return len(pycs)


if __name__ == "__main__":
    for name in sys.argv[1:] or ["out/deployment.zip"]:
        print(f"{name}: {compile_package(Path(name))} modules compiled for Python {lambda_python()}")
