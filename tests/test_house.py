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
# The floors, from the bottom up: a module imports only from its own floor or those below it.
LAYERS = ["core", "data", "models", "train", "analysis", "zoo", "tooling"]


@functools.cache
def modules() -> dict[str, ast.Module]:
    """Every module of the package, parsed, by dotted name below dcgan_lib ('core.store', 'data' for its
    __init__, 'zoo')."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if name:
            found[name] = ast.parse(path.read_text())
    return found


def layer(name: str) -> int:
    return LAYERS.index(name.split(".")[0])


def resolve(module: str, names: list[str]) -> set[str]:
    """The library modules that `from dcgan_lib.<module> import <names>` loads (a name may be a submodule)."""
    found = {module} if module in modules() else set()
    found |= {f"{module}.{n}" for n in names if f"{module}.{n}" in modules()}
    return found or {module}


def imports(tree: ast.Module, top_level_only: bool = False) -> tuple[set[str], set[str]]:
    """(library modules, third-party top-level names) that a module imports."""
    internal, external = set(), set()
    for node in tree.body if top_level_only else ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            internal.add(f"relative import from {'.' * node.level}{node.module or ''}")
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            pairs = [(node.module, [a.name for a in node.names])]
        elif isinstance(node, ast.Import):
            pairs = [(a.name, []) for a in node.names]
        else:
            continue
        for module, names in pairs:
            parts = module.split(".")
            if parts[0] == "dcgan_lib":
                internal |= resolve(".".join(parts[1:]), names) if len(parts) > 1 else set(names)
            elif parts[0] not in sys.stdlib_module_names and parts[0] != "__future__":
                external.add(parts[0])
    return internal, external


def graph() -> dict[str, set[str]]:
    return {name: imports(tree)[0] - {name} for name, tree in modules().items()}


def test_the_floors_are_the_top_level_of_the_package():
    top = {name.split(".")[0] for name in modules()}
    assert top == set(LAYERS), f"dcgan_lib's top level is {sorted(top)}; the floors are {LAYERS}"


def test_imports_are_absolute():
    relative = {name: sorted(d for d in deps if d.startswith("relative")) for name, deps in graph().items()}
    assert not {k: v for k, v in relative.items() if v}, "write library imports as `from dcgan_lib.<floor>...`"


def test_no_module_imports_back_a_module_that_imports_it():
    edges = graph()

    def reachable(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for dep in edges.get(todo.pop(), ()):
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return seen

    circles = sorted({tuple(sorted((a, b))) for a in edges for b in reachable(a) if a != b and a in reachable(b)})
    assert not circles, f"import circles: {circles}"


def test_imports_only_go_down():
    climbing = sorted((name, dep) for name, deps in graph().items() for dep in deps
                      if dep.split(".")[0] in LAYERS and layer(dep) > layer(name))
    assert not climbing, f"imports from a lower floor to a higher one (module, imported): {climbing}"


def test_runtime_helpers_and_the_dataset_type_build_on_nothing_in_the_library():
    assert imports(modules()["core.runtime"])[0] == set()
    assert imports(modules()["data.imagedata"])[0] == set()


def test_only_the_tools_build_on_the_model_zoo():
    """dcgan_lib.zoo maps the book's model names and profiles to configs; library functions take sizes."""
    users = {name for name, deps in graph().items() if "zoo" in deps}
    assert all(layer(u) >= layer("zoo") for u in users), f"library modules importing the zoo: {users}"


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
    if layer(name) < layer("tooling"):  # `pip install dcgan_lib` (no extras) must import every library module
        for module in sorted(imports(tree, top_level_only=True)[1]):
            assert distributions().get(module, {module}) & core, \
                f"dcgan_lib.{name} imports {module} at the top level, but it is only an extra: import it lazily"


def test_every_module_imports():
    """What `pip install dcgan_lib` gives: every module of the package imports (optional extras lazily)."""
    import importlib

    for name in sorted(modules()):
        importlib.import_module(f"dcgan_lib.{name}")


def test_every_module_reads_in_one_sitting():
    long = {name: n for name in modules() if (n := len(module_path(name).read_text().splitlines())) > 400}
    assert not long, f"modules over 400 lines (split them along their sections): {long}"


def module_path(name: str) -> Path:
    path = PACKAGE.joinpath(*name.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def test_the_training_loop_stays_an_outline():
    """`train`'s body (chapter 02 shows it) is the algorithm's outline: resume, epochs, batches, train_step,
    checkpoint; what else a run needs lives in named helpers beside it."""
    import ast

    tree = ast.parse(module_path("train.loop").read_text())
    body = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "_train").body[1:]
    assert body[-1].end_lineno - body[0].lineno + 1 <= 40
