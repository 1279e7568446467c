"""The shape of the code, read from its source with ``ast`` (nothing is imported):

- dependencies between the apps go one way: classifier → catalog, moods → catalog, similar → catalog, classifier
  and moods, subsonic → catalog, moods and similar; never back (what a module reaches through its imports counts, so a detour through skybeat is caught too);
- no import circle between modules, function-level imports included (TYPE_CHECKING-only imports excluded);
- migrations import nothing but Django and the standard library (they carry the data they seed);
- no module over MAX_LINES lines;
- datasets and splits import without TensorFlow (the web side: test_classifier_pipeline.py).
"""

from __future__ import annotations

import ast
import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("catalog", "classifier", "moods", "similar", "skybeat", "subsonic")
MAX_LINES = 400
#: The apps each app may reach through its imports (skybeat's shared modules are open to all of them).
MAY_REACH = {
    "catalog": set(),
    "classifier": {"catalog"},
    "moods": {"catalog"},
    "similar": {"catalog", "classifier", "moods"},
    "subsonic": {"catalog", "moods", "similar", "classifier"},  # classifier through similar (getSimilarSongs)
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))}


def is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def runtime_imports(tree: ast.AST):
    """Every import statement that runs, at any depth (those under ``if TYPE_CHECKING:`` never do)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and is_type_checking(node):
            yield from (imported for child in node.orelse for imported in runtime_imports(child))
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        yield from runtime_imports(node)


@functools.cache
def imports_of(name: str) -> frozenset[str]:
    """The modules (of PACKAGES, or top-level names of others) that module ``name`` imports."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in runtime_imports(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join(anchor + ([node.module] if node.module else []))
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            found.add(submodule if submodule in MODULES else base)
    return frozenset(resolve(imported) for imported in found)


def resolve(imported: str) -> str:
    """The module of PACKAGES an import names (its longest known prefix), else the imported top-level name."""
    parts = imported.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in MODULES:
            return ".".join(parts[:end])
    return parts[0]


def reachable(name: str) -> set[str]:
    seen, todo = set(), [name]
    while todo:
        for imported in imports_of(todo.pop()):
            if imported in MODULES and imported not in seen:
                seen.add(imported)
                todo.append(imported)
    return seen


def app_of(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("app", sorted(MAY_REACH))
def test_app_dependencies_go_one_way(app):
    wrong = {}
    for name in (name for name in MODULES if app_of(name) == app and ".migrations" not in name):
        reached = {app_of(other) for other in reachable(name)} - {app, "skybeat"} - MAY_REACH[app]
        if reached:
            wrong[name] = sorted(reached)
    assert not wrong, f"{app} modules reach apps they must not: {wrong}"


def test_no_import_circles():
    """Tarjan's strongly connected components of the module graph: every one must be a single module."""
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        on_stack.add(name)
        for imported in imports_of(name):
            if imported not in MODULES or imported == name:
                continue
            if imported not in index:
                visit(imported)
                low[name] = min(low[name], low[imported])
            elif imported in on_stack:
                low[name] = min(low[name], index[imported])
        if low[name] == index[name]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == name:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for name in MODULES:
        if name not in index:
            visit(name)
    assert not circles, f"import circles: {circles}"


def test_migrations_import_only_django_and_the_standard_library():
    allowed = {"django", *sys.stdlib_module_names}
    wrong = {name: sorted(imports_of(name) - allowed) for name in MODULES if ".migrations." in name}
    wrong = {name: imported for name, imported in wrong.items() if imported}
    assert not wrong, f"migrations must carry their data, not import live code: {wrong}"


def test_no_module_is_longer_than_the_limit():
    long = {name: lines for name, path in MODULES.items() if (lines := len(path.read_text().splitlines())) > MAX_LINES
            and ".migrations." not in name}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


#: Datasets, splits and training options are read and checked without a model: none may import TensorFlow.
WITHOUT_TENSORFLOW = ("classifier.datasets", "classifier.fusion", "classifier.training_options")


def test_datasets_and_splits_import_no_tensorflow():
    code = ("import sys, django; django.setup(); "
            f"[__import__(name) for name in {WITHOUT_TENSORFLOW!r}]; "
            "print(sorted({'tensorflow', 'keras'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_the_checker_sees_function_level_and_relative_imports(tmp_path, monkeypatch):
    """The graph is only as good as its parser: a function-level relative import makes an edge, a
    TYPE_CHECKING-only one does not."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("def f():\n    from . import b\n")
    (tmp_path / "pkg" / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import f\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    modules = {module_name(path): path for path in sorted((tmp_path / "pkg").rglob("*.py"))}
    monkeypatch.setattr(__import__(__name__, fromlist=["MODULES"]), "MODULES", modules)
    imports_of.cache_clear()
    try:
        assert imports_of("pkg.a") == {"pkg.b"} and imports_of("pkg.b") == {"typing"}
    finally:
        imports_of.cache_clear()
