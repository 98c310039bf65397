"""The package's architecture, read from its source: layers whose imports point one way,
no import cycles, every error class in ``errors.py``, an ``__all__`` in every package.

The data flows one way (see ``docs/architecture.md``); a module may import modules of its
own layer or of a layer below, never above. Function-level imports count: a lazy import
is still an arrow.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest

PACKAGE = "rockpool_dynapse2"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

LAYERS: Tuple[Tuple[str, ...], ...] = (
    ("errors", "chip", "_samna", "_version", "_json"),
    ("parameters",),
    ("simulation",),
    ("transform",),
    ("training",),
    ("mapping",),
    ("nir",),
    ("config",),
    ("placement",),
    ("hardware",),
    ("twin",),
    ("app",),
)
"""Bottom to top. The root ``__init__`` stands above every layer."""


def _layer_of(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:
        return len(LAYERS)  # the root package
    for rank, names in enumerate(LAYERS):
        if parts[1] in names:
            return rank
    raise AssertionError(f"{module} is in no layer: add its package to LAYERS and docs/architecture.md")


def _modules() -> Dict[str, Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str) -> Set[str]:
    """The package's modules that ``module`` imports, anywhere in its source."""
    path = MODULES[module]
    targets: Set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, path, node)
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            name = node.args[0].value
            anchor = module if path.name == "__init__.py" else module.rpartition(".")[0]
            names = [anchor + name if name.startswith(".") else name]
        else:
            continue
        for name in names:
            if name == PACKAGE or name.startswith(PACKAGE + "."):
                while name not in MODULES:
                    name = name.rpartition(".")[0]
                if name != module:
                    targets.add(name)
    return targets


GRAPH = {m: _imports(m) for m in MODULES}


def test_every_module_is_in_a_layer():
    for module in MODULES:
        _layer_of(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_a_layer_above_its_own(module):
    rank = _layer_of(module)
    upward = sorted(t for t in GRAPH[module] if _layer_of(t) > rank)
    assert not upward, f"{module} (layer {rank}) imports a layer above its own: {upward}"


def _cycles() -> List[List[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    """A package's ``__init__`` re-exporting its modules is not a cycle; a module importing
    another that imports it back (even inside a function) is."""
    assert _cycles() == []


def test_every_error_class_lives_in_errors():
    misplaced = []
    for module, path in MODULES.items():
        if module == f"{PACKAGE}.errors":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and (node.name.endswith("Error") or node.name.endswith("Exception")):
                misplaced.append(f"{module}.{node.name}")
    assert misplaced == []


def test_every_package_has_all_and_a_docstring_naming_its_modules():
    for module, path in MODULES.items():
        if path.name != "__init__.py":
            continue
        tree = ast.parse(path.read_text())
        doc = ast.get_docstring(tree) or ""
        assert doc, f"{module} has no docstring"
        assert any(
            isinstance(n, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in n.targets) for n in tree.body
        ), f"{module} has no __all__"
        submodules = [m.rpartition(".")[2] for m in MODULES if m.rpartition(".")[0] == module]
        unnamed = [s for s in submodules if f".{s}" not in doc and f"{module}.{s}" not in doc]
        assert not unnamed, f"the docstring of {module} does not name {unnamed}"


@pytest.mark.parametrize("module", sorted(m for m, p in MODULES.items() if p.name == "__init__.py"))
def test_every_name_in_all_can_be_imported(module):
    mod = importlib.import_module(module)
    for name in mod.__all__:
        value = getattr(mod, name, None)
        if value is None and f"{module}.{name}" in MODULES:  # a submodule named in __all__
            value = importlib.import_module(f"{module}.{name}")
        assert value is not None, f"{module}.{name}"


def test_no_private_name_is_imported_across_packages():
    crossing = []
    for module, path in MODULES.items():
        package = module.split(".")[1] if "." in module else ""
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            source = _resolve(module, path, node)
            if not source.startswith(PACKAGE + "."):
                continue
            other = source.split(".")[1]
            if other == package:
                continue
            private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
            private_module = any(p.startswith("_") for p in source.split(".")[2:])
            if private or (private_module and not other.startswith("_")):
                crossing.append(f"{module}: from {source} import {', '.join(a.name for a in node.names)}")
    assert crossing == []


def test_the_backends_load_lazily_from_the_simulation_package():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import rockpool_dynapse2.simulation as s\n"
        "assert 'jax' not in sys.modules and 'torch' not in sys.modules\n"
        "from rockpool_dynapse2.simulation import DynapSimJax\n"
        "from rockpool_dynapse2 import DynapSimJax as root\n"
        "assert DynapSimJax is root\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
