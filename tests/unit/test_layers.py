"""A request walks one way: api -> services -> domain / persistence / gateways, and no module imports
itself through others, inside a layer or across layers. Checked on the imports of every module (at any
depth in the file, so a lazy import cannot hide a cycle). What Lambda runs (app.py and chalicelib/) never
reaches for the `make run` runtime in local/, which is not deployed."""
import ast
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "chalicelib"

# What each layer may import from chalicelib (besides itself and the leaves every layer may use).
LEAVES = {"chalicelib.config", "chalicelib.secret_store", "chalicelib.clock", "chalicelib.observability", "chalicelib.caller",
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


def import_lines(path: Path, modules: set[str]) -> dict[str, int]:
    """The chalicelib modules `path` imports (at any depth, lazy imports included), each with the line of
    its first import there. `from chalicelib.x import y` imports the module chalicelib.x.y when there is
    one, else chalicelib.x (a package: its __init__); relative imports are resolved the same way."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: dict[str, int] = {}

    def add(imported: str, line: int) -> None:
        if imported in modules and imported != name:
            found.setdefault(imported, line)

    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parent, *([base] if base else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                add(submodule if submodule in modules else base, node.lineno)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node.lineno)
    return found


def import_graph() -> tuple[dict[str, dict[str, int]], dict[str, Path]]:
    paths = {module_name(path): path for path in [*PACKAGE.rglob("*.py"), ROOT / "app.py"]}
    return {name: import_lines(path, set(paths)) for name, path in paths.items()}, paths


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle through each strongly connected component that has one (Tarjan), as [a, b, ..., a]:
    a component is a set of modules each of which imports every other, directly or not."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:  # the graph is a few hundred modules: recursion is fine
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [cycle_through(min(component), set(component), graph) for component in components]


def cycle_through(start: str, members: set[str], graph: dict[str, dict[str, int]]) -> list[str]:
    """A shortest way from `start` back to itself inside its component (breadth first)."""
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for target in sorted(graph[node]):
            if target == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if target in members and target not in previous:
                previous[target] = node
                queue.append(target)
    raise AssertionError(f"{start} is in no cycle")


def test_no_module_imports_itself_through_others():
    """No import circle anywhere in chalicelib (within a layer, as between layers), lazy imports included:
    a circle works only as long as each module's import of the next happens to come late enough."""
    graph, paths = import_graph()
    described = [" -> ".join(f"{a} ({paths[a].relative_to(ROOT)}:{graph[a][b]})" for a, b in zip(cycle, cycle[1:]))
                 + f" -> {cycle[-1]}" for cycle in cycles(graph)]
    assert not described, "\n".join(described)


def test_the_circle_finder_finds_every_circle_and_only_circles():
    graph = {"a": {"b": 1}, "b": {"c": 2, "d": 3}, "c": {"a": 4}, "d": {}, "e": {"f": 5}, "f": {"e": 6}, "g": {"a": 7}}
    assert sorted(cycles(graph)) == [["a", "b", "c", "a"], ["e", "f", "e"]]
    assert cycles({"a": {"b": 1}, "b": {"c": 2}, "c": {}}) == []


def test_nothing_deployed_imports_the_local_runtime():
    """local/ is left out of the deployment package: an import of it would fail in Lambda, not in tests."""
    offenders = {module_name(path): sorted(found) for path in [*PACKAGE.rglob("*.py"), ROOT / "app.py"]
                 if (found := {n for n in imported_names(path) if n == "local" or n.startswith("local.")})}
    assert not offenders, offenders
