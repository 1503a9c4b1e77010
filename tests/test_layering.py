"""The package's layers: no import cycle (function-local imports count), and the analysis layer
never pulls in torch, so a book page that only reads tables starts fast."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "pretrain_diversity"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Every package module ``path`` imports, at any depth of its code."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        out |= {n for n in names if n in modules}
    return out


def graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PKG.rglob("*.py")}
    return {m: imports_of(p, set(files)) - {m} for m, p in files.items()}


# Every module of the package counts: a cycle anywhere is a defect.
LAYERS = ("pretrain_diversity",)


def test_no_import_cycles():
    import os

    layers = tuple(os.environ.get("LAYERS", ",".join(LAYERS)).split(","))
    g = graph()
    assert "pretrain_diversity.sweeps.runner" in g
    state: dict[str, int] = {}
    cycles = []

    def visit(m, stack):
        state[m] = 1
        for d in sorted(g.get(m, ())):
            if state.get(d) == 1:
                cycles.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d, stack + [d])
        state[m] = 2

    for m in sorted(g):
        if m not in state:
            visit(m, [m])
    cycles = [c for c in cycles if any(m.startswith(layers) for m in c)]
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_cycle_detector_sees_function_local_imports(tmp_path):
    p = tmp_path / "m.py"
    p.write_text("def f():\n    from pretrain_diversity.sweeps import runner\n")
    assert imports_of(p, {"pretrain_diversity.sweeps.runner", "pretrain_diversity.sweeps"}) == {
        "pretrain_diversity.sweeps", "pretrain_diversity.sweeps.runner"}


TORCH_FREE = sorted(module_name(p) for sub in ("analysis", "studies")
                    for p in (PKG / sub).rglob("*.py")) + [
    "pretrain_diversity.runs.layout", "pretrain_diversity.sweeps.records",
    "pretrain_diversity.sweeps.cost", "pretrain_diversity.sweeps.spec",
    "pretrain_diversity.sweeps.provenance",
]


@pytest.mark.parametrize("module", TORCH_FREE)
def test_module_imports_without_torch(module):
    code = f"import sys, {module}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(SRC), "PATH": ""}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False", f"{module} imports torch"


# The import direction follows the data flow: a module imports only its own layer and the ones
# before it (the floor - config, storage, budget, paths - is open to all).
ORDER = ("data", "tasks", "models", "training", "evaluation", "runs", "sweeps", "analysis",
         "figures", "studies", "cli")
FLOOR = {"pretrain_diversity", "pretrain_diversity.config", "pretrain_diversity.storage",
         "pretrain_diversity.budget", "pretrain_diversity.paths"}


def layer_of(module: str) -> int:
    if module in FLOOR:
        return -1
    return ORDER.index(module.split(".")[1])


def test_imports_flow_one_way():
    g = graph()
    assert all(m in FLOOR or m.split(".")[1] in ORDER for m in g), sorted(
        m for m in g if m not in FLOOR and m.split(".")[1] not in ORDER)
    upward = [f"{m} -> {d}" for m, deps in sorted(g.items()) for d in sorted(deps)
              if layer_of(d) > layer_of(m)]
    assert not upward, "imports against the layer order:\n" + "\n".join(upward)


def test_the_direction_check_sees_an_upward_import():
    assert layer_of("pretrain_diversity.analysis.tables") > layer_of("pretrain_diversity.runs.layout")
    assert layer_of("pretrain_diversity.config") < layer_of("pretrain_diversity.data.pool")
