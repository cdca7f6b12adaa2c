"""A request walks one way: api -> services -> domain / persistence / gateways. Checked on the imports
of every module (at any depth in the file, so a lazy import cannot hide a cycle)."""
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
    # A unit of work sends the messages its change owes once committed (persistence/unit_of_work.py).
    "chalicelib.persistence": LEAVES | {"chalicelib.persistence", "chalicelib.gateways.queues"},
    "chalicelib.services": LEAVES | {"chalicelib.persistence", "chalicelib.gateways", "chalicelib.services"},
    "chalicelib.workers": LEAVES | {"chalicelib.persistence", "chalicelib.gateways", "chalicelib.services",
                                    "chalicelib.workers"},
}


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("chalicelib.")}


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
        if rules is None:  # api/, http.py, local/: the edges
            continue
        problems += [f"{name} imports {imported}" for imported in sorted(imports_of(path))
                     if not allowed(layer_of(name), imported, rules)]
    assert not problems, problems


def test_only_the_routes_and_the_app_import_the_http_layer():
    importers = [module_name(path) for path in [*PACKAGE.rglob("*.py"), ROOT / "app.py"]
                 if any(n == "chalicelib.api.http" or n.startswith("chalicelib.api.http.") for n in imports_of(path))]
    assert all(name == "app" or name.startswith("chalicelib.api.") for name in importers), importers
