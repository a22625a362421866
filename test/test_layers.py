# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The layers of docs/layers.md hold: no module imports upward, and no import loop.

Every module of ``sam_detect`` and ``sam_detect_ros`` is parsed (``ast``); every import counts,
at the top of a file or inside a function (lazy imports hide loops just as well), under
``if TYPE_CHECKING`` too. A module may import only modules of its own layer or below, and the
graph of imports between modules must have no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("sam_detect", "sam_detect_ros")

# Bottom-up, as docs/layers.md draws them: (layer, the modules or folders in it).
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ground", ("sam_detect.errors", "sam_detect.results", "sam_detect.labels",
                "sam_detect.options", "sam_detect.device", "sam_detect.image_io",
                "sam_detect.visualize", "sam_detect.palette", "sam_detect.captions",
                "sam_detect.progress")),
    ("stages", ("sam_detect.segmentation", "sam_detect.fading", "sam_detect.embedding",
                "sam_detect.vector_store", "sam_detect.classifier", "sam_detect.models",
                "sam_detect.tracking")),
    ("pipeline", ("sam_detect.pipeline", "sam_detect.evaluation.core")),
    ("facade", ("sam_detect.detector",)),
    ("front ends", ("sam_detect.arguments", "sam_detect.cli", "sam_detect.video_cli",
                    "sam_detect.demo", "sam_detect.download_models", "sam_detect.__main__",
                    "sam_detect.annotate", "sam_detect.evaluation", "sam_detect_ros")),
    # The package's public surface re-exports the facade; nothing in the product imports it.
    ("public surface", ("sam_detect",)),
)


def module_files(root: Path = REPO) -> dict[str, Path]:
    """Return ``{dotted module name: file}`` of every module of the product."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def layer_of(module: str) -> int:
    """Return the index in :data:`LAYERS` of the most specific entry that holds ``module``."""
    best, length = None, -1
    for index, (_, members) in enumerate(LAYERS):
        for member in members:
            if (module == member or module.startswith(member + ".")) and len(member) > length:
                best, length = index, len(member)
    if best is None:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS and docs/layers.md")
    return best


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> dict[str, int]:
    """Return ``{imported product module: line}`` for every import in ``path``."""
    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            # ``from a import b`` imports the module a.b when there is one, else a name of a.
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                     for alias in node.names]
        for name in names:
            target = known(name)
            if target is not None and target != module:
                found.setdefault(target, node.lineno)
    return found


def import_graph(root: Path = REPO) -> dict[str, dict[str, int]]:
    """Return ``{module: {imported module: line}}`` for the whole product."""
    modules = module_files(root)
    return {module: imports_of(module, path, modules) for module, path in modules.items()}


def upward_imports(graph: dict[str, dict[str, int]], root: Path = REPO) -> list[str]:
    """Return a line per import of a module from a higher layer."""
    modules = module_files(root)
    found = []
    for module, targets in sorted(graph.items()):
        for target, line in sorted(targets.items()):
            if layer_of(target) > layer_of(module):
                found.append(f"{modules[module].relative_to(root)}:{line}: {module} "
                             f"({LAYERS[layer_of(module)][0]}) imports {target} "
                             f"({LAYERS[layer_of(target)][0]})")
    return found


def import_cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Return the strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:  # iterative enough: the graph is a few hundred modules
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1 or module in graph[module]:
                cycles.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return cycles


@pytest.fixture(scope="module")
def graph() -> dict[str, dict[str, int]]:
    return import_graph()


def test_every_module_is_in_a_layer(graph: dict[str, dict[str, int]]) -> None:
    for module in graph:
        layer_of(module)


def test_no_module_imports_a_higher_layer(graph: dict[str, dict[str, int]]) -> None:
    assert upward_imports(graph) == []


def test_there_is_no_import_loop(graph: dict[str, dict[str, int]]) -> None:
    assert import_cycles(graph) == []


def test_the_evaluation_core_never_imports_a_detector(graph: dict[str, dict[str, int]]) -> None:
    core = {m: t for m, t in graph.items() if m.startswith("sam_detect.evaluation.core")}
    assert core and not any("sam_detect.detector" in targets for targets in core.values())


def test_the_checks_see_lazy_upward_imports_and_loops(tmp_path: Path) -> None:
    """A mutant tree: one lazy upward import (options -> detector) is a violation and a loop."""
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            target = tmp_path / path.relative_to(REPO)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    options = tmp_path / "sam_detect" / "options.py"
    options.write_text(options.read_text(encoding="utf-8") + (
        "\n\ndef build(options):\n    from sam_detect.detector import SAMDetect\n\n"
        "    return SAMDetect(**options)\n"), encoding="utf-8")
    mutant = import_graph(tmp_path)
    assert any("sam_detect.options (ground) imports sam_detect.detector (facade)" in line
               for line in upward_imports(mutant, tmp_path))
    assert any({"sam_detect.options", "sam_detect.detector"} <= set(cycle)
               for cycle in import_cycles(mutant))


def test_the_map_names_every_layer() -> None:
    text = (REPO / "docs" / "layers.md").read_text(encoding="utf-8")
    for name, members in LAYERS:
        assert name in text, name
        for member in members:  # by the name of its file or folder
            assert member.rpartition(".")[2] in text, member
