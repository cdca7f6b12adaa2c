"""The error codes each operation can answer, found in the code it runs (for docs/api.md: tools/api_docs.py).

A static reading, not a guess from tests: from a route's handler, every function of chalicelib it calls by name
(`name(...)`, `module.name(...)`, `Class.method(...)` of a module it imports), and every function those call,
are read; an error raised there (`raise NotFound("…", code="USER_NOT_FOUND")`, or an error class alone: its
`default_code`) is one the operation can answer. What every operation can answer (a bad body, a missing token, a
rate limit: chalicelib/api/http.py) is listed once, not per operation. Calls through an object (`work.commit()`)
are not followed, so a code raised only behind one is missed: the list says what the code shows, at least."""
from __future__ import annotations

import ast
import functools
import importlib
import inspect
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "chalicelib"
# Values that carry an error's code to where it is raised (compliance's refusals: raised with code=refusal.code).
CODE_CARRIERS = {"Refusal"}


@functools.cache
def _error_classes() -> dict[str, str]:
    """Every DomainError subclass of chalicelib, by name: its default code."""
    from chalicelib.domain.errors import DomainError  # noqa: PLC0415

    found: dict[str, str] = {}
    for path in (ROOT / PACKAGE).rglob("*.py"):
        module = importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, DomainError):
                found[name] = value.default_code
    return found


class _Module:
    """One module's functions (top-level and methods, as `name` and `Class.name`) and what its names refer to."""

    def __init__(self, name: str):
        self.name = name
        path = ROOT / Path(*name.split(".")).with_suffix(".py")
        if not path.exists():
            path = ROOT / Path(*name.split(".")) / "__init__.py"
        tree = ast.parse(path.read_text()) if path.exists() else ast.Module(body=[], type_ignores=[])
        self.functions: dict[str, ast.AST] = {}
        self.imports: dict[str, str] = {}  # local name -> "module" or "module:attribute"
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self.imports[alias.asname or alias.name.split(".")[0]] = alias.name
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    is_module = (ROOT / Path(*target.split("."))).with_suffix(".py").exists() or \
                        (ROOT / Path(*target.split(".")) / "__init__.py").exists()
                    self.imports[alias.asname or alias.name] = target if is_module else f"{node.module}:{alias.name}"
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions[node.name] = node
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        self.functions[f"{node.name}.{item.name}"] = item


@functools.cache
def _module(name: str) -> _Module:
    return _Module(name)


def _resolve(module: _Module, func: ast.expr) -> tuple[str, str] | None:
    """(module, function) a call names, when it is a function of chalicelib."""
    if isinstance(func, ast.Name):
        if func.id in module.functions:
            return module.name, func.id
        target = module.imports.get(func.id, "")
        if ":" in target:
            where, name = target.split(":")
            return (where, name) if where.startswith(PACKAGE) else None
        return None
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        owner = func.value.id
        if f"{owner}.{func.attr}" in module.functions:
            return module.name, f"{owner}.{func.attr}"
        target = module.imports.get(owner, "")
        if target.startswith(PACKAGE):
            if ":" in target:  # an imported class: Class.method
                where, name = target.split(":")
                return where, f"{name}.{func.attr}"
            return target, func.attr
    return None


def _codes_raised(node: ast.AST) -> set[str]:
    """Codes of the errors a function builds: an error class called with code="…", or without (its default)."""
    classes = _error_classes()
    codes: set[str] = set()
    for call in ast.walk(node):
        if not isinstance(call, ast.Call):
            continue
        name = call.func.id if isinstance(call.func, ast.Name) else call.func.attr if isinstance(call.func, ast.Attribute) else None
        if name in CODE_CARRIERS and call.args and isinstance(call.args[0], ast.Constant):
            codes.add(call.args[0].value)  # raised later with code=<its code>
            continue
        if name not in classes:
            continue
        given = [k.value for k in call.keywords if k.arg == "code"]
        if given and isinstance(given[0], ast.Constant) and isinstance(given[0].value, str):
            codes.add(given[0].value)
        elif not given:
            codes.add(classes[name])
    return codes


def codes_of(handler: Any) -> set[str]:
    """Every error code the code reachable from `handler` raises."""
    start = (handler.__module__, handler.__name__)
    seen: set[tuple[str, str]] = set()
    pending = [start]
    codes: set[str] = set()
    while pending:
        where, name = pending.pop()
        if (where, name) in seen:
            continue
        seen.add((where, name))
        module = _module(where)
        node = module.functions.get(name) or module.functions.get(f"{name}.__init__")
        if node is None:
            continue
        codes |= _codes_raised(node)
        for call in ast.walk(node):
            if isinstance(call, ast.Call):
                target = _resolve(module, call.func)
                if target and target not in seen:
                    pending.append(target)
    return codes


def handlers() -> dict[tuple[str, str], Any]:
    """(METHOD, path under /api/v1) -> the route's handler, for every documented operation."""
    import app  # noqa: PLC0415 - registers every route

    from chalicelib.api.http import API_PREFIX  # noqa: PLC0415

    found = {}
    for path, methods in app.app.routes.items():
        for method, entry in methods.items():
            handler = getattr(entry.view_function, "__wrapped__", None)
            if handler is not None and path.startswith(API_PREFIX):
                found[(method, path.removeprefix(API_PREFIX))] = handler
    return found


# What any operation may answer, whatever it does (chalicelib/api/http.py), listed once in docs/api.md.
COMMON = ("VALIDATION_FAILED", "INVALID_JSON", "INVALID_BODY", "UNEXPECTED_BODY", "UNKNOWN_QUERY_PARAMETER",
          "INVALID_UUID", "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE", "MISSING_TOKEN", "INVALID_TOKEN",
          "TOKEN_EXPIRED", "SESSION_REVOKED", "FORBIDDEN_ACCOUNT_TYPE", "RATE_LIMITED", "INTERNAL_ERROR")


def operation_codes() -> dict[tuple[str, str], list[str]]:
    """Each operation's own codes (beyond COMMON), sorted."""
    return {key: sorted(codes_of(handler) - set(COMMON)) for key, handler in handlers().items()}
