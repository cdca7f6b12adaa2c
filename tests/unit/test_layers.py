"""A request walks one way: api -> services -> domain / persistence / gateways. Checked on the imports
of every module (at any depth in the file, so a lazy import cannot hide a cycle). What Lambda runs (app.py
and chalicelib/) never reaches for the `make run` runtime in local/, which is not deployed."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "chalicelib"

# What each layer may import from chalicelib (besides itself and the leaves every layer may use).
LEAVES = {"chalicelib.config", "chalicelib.clock", "chalicelib.observability", "chalicelib.caller",
          "chalicelib.domain", "chalicelib.schemas"}
MAY_IMPORT = {
    "chalicelib.domain": {"chalicelib.config", "chalicelib.domain"},
    "chalicelib.schemas": {"chalicelib.domain", "chalicelib.schemas"},
    "chalicelib.caller": {"chalicelib.domain", "chalicelib.schemas"},
    "chalicelib.gateways": LEAVES,
    "chalicelib.persistence": LEAVES | {"chalicelib.persistence"},
    "chalicelib.services": LEAVES | {"chalicelib.persistence", "chalicelib.gateways", "chalicelib.services"},
    "chalicelib.workers": LEAVES | {"chalicelib.persistence", "chalicelib.gateways", "chalicelib.services",
                                    "chalicelib.workers"},
}


def imported_names(path: Path) -> set[str]:
    """Every absolute module name the file imports, and module.name for each name taken from a module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def imports_of(path: Path) -> set[str]:
    return {name for name in imported_names(path) if name.startswith("chalicelib.")}


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def layer_of(name: str) -> str:
    return ".".join(name.split(".")[:2])


def allowed(importer: str, imported: str, rules: set[str]) -> bool:
    return any(imported == rule or imported.startswith(rule + ".") for rule in rules | {importer})


def test_every_layer_imports_only_what_is_below_it():
    problems = []
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
        rules = MAY_IMPORT.get(layer_of(name))
        if rules is None:  # api/ (routes, http.py) and the top-level modules: the edges
            continue
        problems += [f"{name} imports {imported}" for imported in sorted(imports_of(path))
                     if not allowed(layer_of(name), imported, rules)]
    assert not problems, problems


def test_only_the_routes_and_the_app_import_the_http_layer():
    importers = [module_name(path) for path in [*PACKAGE.rglob("*.py"), ROOT / "app.py"]
                 if any(n == "chalicelib.api.http" or n.startswith("chalicelib.api.http.") for n in imports_of(path))]
    assert all(name == "app" or name.startswith("chalicelib.api.") for name in importers), importers


def test_nothing_deployed_imports_the_local_runtime():
    """local/ is left out of the deployment package: an import of it would fail in Lambda, not in tests."""
    offenders = {module_name(path): sorted(found) for path in [*PACKAGE.rglob("*.py"), ROOT / "app.py"]
                 if (found := {n for n in imported_names(path) if n == "local" or n.startswith("local.")})}
    assert not offenders, offenders
