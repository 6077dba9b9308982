"""The library's house rules, read from its source: no import circles, and every import declared.

Imports are read with `ast` (those inside functions too), so a circle hidden behind a lazy import counts.
"""
import ast
import functools
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dcgan_lib"
TOOLING = {"book_build", "run", "timings", "student", "publish", "chapters", "colab", "launch"}  # the tools


@functools.cache
def modules() -> dict[str, ast.Module]:
    """Every module of the package, parsed, by name."""
    return {p.stem: ast.parse(p.read_text()) for p in sorted(PACKAGE.glob("*.py")) if p.stem != "__init__"}


def imports(tree: ast.Module, top_level_only: bool = False) -> tuple[set[str], set[str]]:
    """(library modules, third-party top-level names) that a module imports."""
    internal, external = set(), set()
    for node in tree.body if top_level_only else ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:  # from .x import y / from . import x
            internal |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for parts in (name.split(".") for name in names):
            if parts[0] == "dcgan_lib":
                internal |= set(parts[1:2])
            elif parts[0] not in sys.stdlib_module_names and parts[0] != "__future__":
                external.add(parts[0])
    return internal, external


def test_no_module_imports_back_a_module_that_imports_it():
    graph = {name: imports(tree)[0] - {name} for name, tree in modules().items()}

    def reachable(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for dep in graph.get(todo.pop(), ()):
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return seen

    circles = sorted({tuple(sorted((a, b))) for a in graph for b in reachable(a) if a != b and a in reachable(b)})
    assert not circles, f"import circles: {circles}"


def test_runtime_helpers_build_on_nothing_in_the_library():
    assert imports(modules()["runtime"])[0] == set()
    assert imports(modules()["imagedata"])[0] == set()


def test_nothing_in_the_library_imports_the_books_tooling():
    for name, tree in modules().items():
        if name not in TOOLING:
            used = imports(tree)[0] & TOOLING
            assert not used, f"dcgan_lib.{name} imports the book's tooling {used}"


def test_only_the_tools_build_on_the_model_zoo():
    """dcgan_lib.cache maps the book's model names and profiles to configs; library functions take sizes."""
    users = {name for name, tree in modules().items() if "cache" in imports(tree)[0]}
    assert users <= TOOLING, f"library modules importing the zoo: {users - TOOLING}"


def declared() -> tuple[set[str], set[str]]:
    """Distribution names (normalised) declared as dependencies, and those declared only as extras."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def name(requirement: str) -> str:
        for stop in "<>=!~[ ;":
            requirement = requirement.split(stop)[0]
        return requirement.strip().lower().replace("_", "-")

    core = {name(r) for r in project["dependencies"]}
    extras = {name(r) for group in project["optional-dependencies"].values() for r in group}
    return core, extras - core


@functools.cache
def distributions() -> dict[str, set[str]]:
    """Import name -> the installed distributions (normalised names) that provide it."""
    return {k: {d.lower().replace("_", "-") for d in v} for k, v in packages_distributions().items()}


@pytest.mark.parametrize("name", sorted(modules()))
def test_every_import_is_declared_and_the_library_needs_no_extra(name):
    core, extras = declared()
    tree = modules()[name]
    for module in sorted(imports(tree)[1]):
        # not installed here (an optional extra such as lmdb): its distribution has the import's name
        provided_by = distributions().get(module, {module.lower().replace("_", "-")})
        assert provided_by & (core | extras), \
            f"dcgan_lib.{name} imports {module} ({', '.join(provided_by)}): declare it in pyproject.toml"
    if name not in TOOLING:  # `pip install dcgan_lib` (no extras) must import every library module
        for module in sorted(imports(tree, top_level_only=True)[1]):
            assert distributions().get(module, {module}) & core, \
                f"dcgan_lib.{name} imports {module} at the top level, but it is only an extra: import it lazily"
