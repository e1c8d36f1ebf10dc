"""The layering (issue 13): one line, checked by import-linter, counted with grimp.

    errors → settings → guardian → llm → image → lang → mind → render → repl → cli

A module imports only from its own layer or lower ones (imports inside functions
included); the few exceptions are views (a model's ``__rich__`` hook), listed with a
comment in ``[tool.importlinter]`` of pyproject.toml.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["errors", "settings", "guardian", "llm", "image", "lang", "mind", "forge", "render",
          "repl", "cli"]


def _lint_imports() -> list[str]:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    if not Path(exe).exists():
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    return [exe, "--no-cache"]


def test_lint_imports_keeps_every_contract() -> None:
    result = subprocess.run(_lint_imports(), cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def _graph():  # type: ignore[no-untyped-def]
    grimp = pytest.importorskip("grimp")
    return grimp.build_graph("batos", cache_dir=None)


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def upward_imports(graph) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Every import from a module to one in a higher layer."""
    out = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            a, b = _layer(importer), _layer(imported)
            if a is not None and b is not None and b > a:
                out.append((importer, imported))
    return out


def cycles(graph) -> list[set[str]]:  # type: ignore[no-untyped-def]
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    counter = 0
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(
                        graph.find_modules_directly_imported_by(child)))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(component)
    return found


def test_at_most_five_upward_imports_all_of_them_views() -> None:
    ups = upward_imports(_graph())
    assert len(ups) <= 5, ups
    assert all(b.startswith("batos.render.") for _, b in ups), ups


def test_errors_imports_nothing_from_batos() -> None:
    graph = _graph()
    assert not [m for m in graph.find_modules_directly_imported_by("batos.errors")
                if m.startswith("batos")]


def test_at_most_one_import_cycle_the_language_core() -> None:
    """BST's protocol tables, printing, blocks and values call each other by nature; every
    other module of batos is on a one-way street."""
    found = cycles(_graph())
    assert len(found) <= 1, [sorted(c) for c in found]
    for component in found:
        assert all(m.startswith("batos.lang.") for m in component), sorted(component)
