"""The project's module structure: no import cycles, and the seams the layout promises.

The import graph is read from the source with ``ast``, so it counts every import: those at the top
of a module and those inside functions, which Python resolves only when the function runs and which
would otherwise hide a cycle until then.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("voicebot", "device_bridge")


def module_files(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted module name → source file, for every module of ``packages`` under ``root``."""
    modules: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imported_modules(module: str, path: Path, known: set[str]) -> set[str]:
    """The project modules that ``module`` imports anywhere in its source (relative imports
    resolved; ``from package import name`` counts the submodule when ``name`` is one)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join([*base, node.module] if node.module else base)
            else:
                prefix = node.module or ""
            names = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in known else prefix for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            while parts and ".".join(parts) not in known:  # `import a.b.c` of a name inside a.b
                parts.pop()
            if parts and ".".join(parts) != module:
                found.add(".".join(parts))
    return found


def import_graph(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> dict[str, set[str]]:
    modules = module_files(root, packages)
    known = set(modules)
    return {name: imported_modules(name, path, known) for name, path in modules.items()}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm): each is a
    set of modules that import one another, directly or through others."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def describe(cycles: list[list[str]], graph: dict[str, set[str]]) -> str:
    lines = []
    for members in cycles:
        lines.append("cycle: " + ", ".join(members))
        lines += [f"    {m} imports {', '.join(sorted(graph[m] & set(members)))}" for m in members]
    return "\n".join(lines)


def importers_of(graph: dict[str, set[str]], target: str, within: str) -> dict[str, set[str]]:
    """Modules under ``within`` that import ``target`` or a module under it."""
    return {
        m: {d for d in deps if d == target or d.startswith(target + ".")}
        for m, deps in graph.items()
        if (m == within or m.startswith(within + ".")) and any(d == target or d.startswith(target + ".") for d in deps)
    }


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_the_project_has_no_import_cycle(graph: dict[str, set[str]]) -> None:
    assert len(graph) > 100 and "voicebot.session" in graph and "device_bridge.bridge" in graph
    cycles = import_cycles(graph)
    assert not cycles, "modules that import one another (imports inside functions count):\n" + describe(cycles, graph)


def test_a_cycle_hidden_inside_a_function_is_found(tmp_path: Path) -> None:
    # The check itself: a cycle closed only by an import inside a function, through a relative
    # import and a package that re-exports, is reported; the same modules without it are not.
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from pkg.sub.b import B\n")
    (pkg / "a.py").write_text("from .sub import B\n\nclass A(B): ...\n")
    (pkg / "sub" / "b.py").write_text("class B:\n    def make(self):\n        from ..a import A\n        return A()\n")
    (pkg / "c.py").write_text("import pkg.a\n")
    graph = import_graph(tmp_path, ["pkg"])
    assert graph["pkg.sub.b"] == {"pkg.a"} and graph["pkg.c"] == {"pkg.a"}
    assert import_cycles(graph) == [["pkg.a", "pkg.sub", "pkg.sub.b"]]
    (pkg / "sub" / "b.py").write_text("class B: ...\n")
    assert import_cycles(import_graph(tmp_path, ["pkg"])) == []


def test_the_device_bridge_does_not_import_the_voicebot(graph: dict[str, set[str]]) -> None:
    # device_bridge is a library of its own (MQTT devices, no speech, no dialogue)
    assert importers_of(graph, "voicebot", "device_bridge") == {}


def test_the_product_does_not_import_the_test_harnesses(graph: dict[str, set[str]]) -> None:
    # The scenario runner and the MQTT tap serve tests and benchmarks; only the demo (which records
    # its call's MQTT traffic) uses the tap.
    users = importers_of(graph, "voicebot.testing", "voicebot")
    assert {m for m in users if not m.startswith("voicebot.testing")} <= {"voicebot.demo"}
    assert not any(m.startswith("voicebot.dialogue") for m in graph if m.endswith("scenario"))


def test_channels_do_not_import_the_session(graph: dict[str, set[str]]) -> None:
    # The frame types and the AudioChannel protocol belong to the audio seam (voicebot.frames), not
    # to the session that wires the stages: a channel must be usable without it.
    # (The phone service that runs a session per call is voicebot.phone, beside the channels.)
    assert importers_of(graph, "voicebot.session", "voicebot.channels") == {}
