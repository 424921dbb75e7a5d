"""Guards of the code's shape (DESIGN.md): short functions, imports one way, no private reach.

They read the source with :mod:`ast`; nothing is imported or run. A failure names the
function, module or line to fix.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "coverkit"

#: Most code lines a function may have (docstrings, comments and blank lines excluded).
MAX_FUNCTION_LINES = 80

#: The layers of the package, upstream first. A module may import from its own layer
#: or from an earlier one, never from a later one (lazy imports inside functions too).
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"errors", "settings", "vocab", "crs", "atomic", "rules"}),
    frozenset({"io", "osm", "osm_split", "writers", "scratch"}),
    frozenset({"inputs", "region", "china"}),
    frozenset({"network"}),
    frozenset({"surface", "accessibility"}),
    frozenset({"siting"}),
    frozenset({"villages"}),
    frozenset({"plan"}),
    frozenset({"planfile"}),
    frozenset({"maps", "report"}),
    frozenset({"config", "api"}),
    frozenset({"batch", "cli"}),
)
RANK = {part: i for i, layer in enumerate(LAYERS) for part in layer}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources(*roots: Path) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*.py") if "assets" not in p.parts)


def _docstring_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    return lines


def long_functions(path: Path, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int]]:
    """Functions of ``path`` with more than ``limit`` code lines, as (qualified name, lines)."""
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    lines = text.splitlines()
    skip = _docstring_lines(tree)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            code = [
                i
                for i in range(node.lineno, node.end_lineno + 1)
                if i not in skip
                and lines[i - 1].strip()
                and not lines[i - 1].strip().startswith("#")
            ]
            if len(code) > limit:
                out.append((f"{_module_name(path)}.{node.name}", len(code)))
    return out


@dataclass(frozen=True)
class Import:
    """One import statement's target, as seen from ``source``."""

    source: str
    target: str
    names: tuple[str, ...]
    line: int


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of nodes inside ``if TYPE_CHECKING:`` blocks (type-only imports don't run)."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                inside.update(id(n) for n in ast.walk(child))
    return inside


def _resolve(source: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = source.split(".") if is_package else source.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(path: Path, modules: set[str]) -> list[Import]:
    """Every run-time import of a coverkit module in ``path`` (module level and in functions)."""
    source = _module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_nodes(tree)
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("coverkit"):
                    out.append(Import(source, alias.name, (), node.lineno))
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(source, node, path.name == "__init__.py")
            if not target.startswith("coverkit"):
                continue
            names = tuple(a.name for a in node.names)
            # `from coverkit.pkg import submodule` imports the submodule
            subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in modules]
            for sub in subs:
                out.append(Import(source, sub, (), node.lineno))
            rest = tuple(n for n in names if f"{target}.{n}" not in modules)
            if rest or not subs:
                out.append(Import(source, target, rest, node.lineno))
    return out


def _part(module: str) -> str:
    """The top-level part of the package a module belongs to (``coverkit.siting.base`` → siting)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _all_imports() -> tuple[set[str], list[Import]]:
    paths = _sources(PACKAGE)
    modules = {_module_name(p) for p in paths}
    return modules, [imp for p in paths for imp in imports_of(p, modules)]


def test_no_function_is_longer_than_a_screen():
    long = [f"{name} ({n} lines)" for p in _sources(PACKAGE) for name, n in long_functions(p)]
    assert not long, f"functions over {MAX_FUNCTION_LINES} code lines: {', '.join(long)}"


def test_every_top_level_module_has_a_layer():
    parts = {_part(m) for m in _all_imports()[0]} - {""}
    assert parts <= set(RANK), f"add these to LAYERS (and DESIGN.md): {sorted(parts - set(RANK))}"


def test_imports_run_one_way():
    _, imports = _all_imports()
    wrong = [
        f"{i.source}:{i.line} imports {i.target}"
        for i in imports
        if _part(i.target) and RANK.get(_part(i.target), -1) > RANK.get(_part(i.source), 99)
    ]
    assert not wrong, "imports against the flow (see DESIGN.md): " + "; ".join(wrong)


def test_no_import_cycle():
    modules, imports = _all_imports()
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    graph.add_edges_from(
        (i.source, i.target) for i in imports if i.target in modules and i.target != "coverkit"
    )
    cycles = sorted(" → ".join([*c, c[0]]) for c in nx.simple_cycles(graph) if len(c) > 1)
    assert not cycles, "import cycles: " + "; ".join(cycles[:5])
    parts = nx.DiGraph()
    parts.add_edges_from(
        (_part(i.source), _part(i.target))
        for i in imports
        if _part(i.source) and _part(i.target) and _part(i.source) != _part(i.target)
    )
    cycles = sorted(" → ".join([*c, c[0]]) for c in nx.simple_cycles(parts))
    assert not cycles, "import cycles between packages: " + "; ".join(cycles[:5])


def _private_reach(path: Path, *, inside: str | None) -> list[str]:
    """Underscored coverkit names that ``path`` takes from outside its own package part."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules = {_module_name(p) for p in _sources(PACKAGE)}
    source = _module_name(path) if inside else path.name
    found = []
    aliases: dict[str, str] = {}
    for imp in imports_of(path, modules) if inside else _test_imports(tree):
        if inside is not None and _part(imp.target) == inside:
            continue
        private = [n for n in imp.names if n.startswith("_") and not n.startswith("__")]
        if any(p.startswith("_") and not p.startswith("__") for p in imp.target.split(".")):
            private.append(imp.target)
        found += [f"{source}:{imp.line} {imp.target}.{n}" for n in private]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom | ast.Import):
            for a in node.names:
                full = f"{node.module}.{a.name}" if isinstance(node, ast.ImportFrom) else a.name
                if full.startswith("coverkit") and (inside is None or _part(full) != inside):
                    aliases[a.asname or a.name] = full
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append(f"{source}:{node.lineno} {aliases[node.value.id]}.{node.attr}")
    return found


def _test_imports(tree: ast.AST) -> list[Import]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("coverkit"):
            out.append(Import("", node.module, tuple(a.name for a in node.names), node.lineno))
        elif isinstance(node, ast.Import):
            out += [
                Import("", a.name, (), node.lineno)
                for a in node.names
                if a.name.startswith("coverkit")
            ]
    return out


def test_no_private_name_crosses_a_package():
    found = [
        hit for p in _sources(PACKAGE) for hit in _private_reach(p, inside=_part(_module_name(p)))
    ]
    assert not found, "private names used outside their package: " + "; ".join(found)


@pytest.mark.parametrize("folder", ["tests", "benchmarks", "tools"])
def test_tests_and_scripts_use_public_names(folder):
    found = [hit for p in _sources(REPO / folder) for hit in _private_reach(p, inside=None)]
    assert not found, f"private coverkit names used in {folder}/: " + "; ".join(found)


# ------------------------------------------------------------------ the guards themselves


def test_guards_catch_a_long_function_a_cycle_and_a_private_import(tmp_path, monkeypatch):
    pkg = tmp_path / "coverkit"
    (pkg / "siting").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "siting" / "__init__.py").write_text("from coverkit.plan import run\n")
    body = "\n".join(f"    x{i} = {i}" for i in range(81))
    (pkg / "plan.py").write_text(
        f'def run():\n    """Doc."""\n{body}\n    from coverkit.siting import _helper\n'
    )
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", pkg)
    assert long_functions(pkg / "plan.py") == [("coverkit.plan.run", 83)]
    modules = {"coverkit", "coverkit.plan", "coverkit.siting"}
    imps = [*imports_of(pkg / "plan.py", modules)]
    imps += imports_of(pkg / "siting" / "__init__.py", modules)
    assert {(i.source, i.target) for i in imps} == {
        ("coverkit.plan", "coverkit.siting"),
        ("coverkit.siting", "coverkit.plan"),
    }
    reach = _private_reach(pkg / "plan.py", inside="plan")
    assert reach == ["coverkit.plan:84 coverkit.siting._helper"]
