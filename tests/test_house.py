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


def chapter_names() -> set[str]:
    """What a chapter is called anywhere in the library: its file's name without the number, and the names its
    sizes and results are kept under."""
    from dcgan_lib.zoo.sizes import SIZES

    stems = {path.stem.split("_", 1)[-1] for path in (ROOT / "book").glob("[0-9]*.ipynb")}
    return stems | set(SIZES)


def test_no_chapter_name_below_the_zoo():
    """Only the zoo (and the tools above it) knows the chapters: the floors below take sizes and names as
    arguments, so a chapter renamed or added changes nothing there."""
    names = chapter_names()
    words = {("data.folders", "training")}   # the usual name of a training-split folder (training/), not 02_training
    found = sorted((name, node.value) for name, tree in modules().items() if layer(name) < layer("zoo")
                   for node in ast.walk(tree) if isinstance(node, ast.Constant) and node.value in names
                   and (name, node.value) not in words)
    assert not found, f"chapter names below the zoo (module, name): {found}"


def test_no_chapter_types_a_size_of_its_own_per_profile():
    """A size that depends on the profile is read from `zoo.chapter_sizes`, not typed in the chapter."""
    import json
    import re

    profile = r"(PROFILE|profile\.name)\s*[=!]="
    keyed = re.compile(rf"""[\d.]+\s+if\s+{profile}|{profile}\s*["']\w+["']\s+else\s+[\d.]+"""
                       r"""|["'](ci|book|full)["']\s*:\s*[\d.]+""")
    typed = []
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            source = "".join(cell["source"]) if cell["cell_type"] == "code" else ""
            typed += [f"{path.name}: {line.strip()}" for line in source.splitlines() if keyed.search(line)]
    assert not typed, "sizes typed per profile in a chapter (add them to dcgan_lib/zoo/sizes.py):\n" + "\n".join(typed)


def test_each_chapter_size_is_typed_and_every_profile_has_one():
    from dataclasses import fields

    from dcgan_lib.zoo.sizes import SIZES

    for chapter, per_profile in SIZES.items():
        assert set(per_profile) == {"ci", "book", "full"}, chapter
        for profile, sizes in per_profile.items():
            for f in fields(sizes):  # exactly the declared type: no 0/1 for a switch, no "64" for a count
                assert type(getattr(sizes, f.name)).__name__ == f.type, (chapter, profile, f.name)


def test_every_function_reads_in_one_screen():
    """No function of the library over 60 lines: a longer one is split into named steps."""
    long = sorted((name, node.name, node.end_lineno - node.lineno + 1) for name, tree in modules().items()
                  for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.end_lineno - node.lineno + 1 > 60)
    assert not long, f"functions over 60 lines (module, function, lines): {long}"


def test_every_code_cell_holds_one_idea():
    """No code cell of a chapter over 15 lines (the style of the book): a longer one is split where its second
    idea starts, or its bookkeeping moves into the library."""
    import json

    long = []
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            lines = "".join(cell["source"]).rstrip().splitlines() if cell["cell_type"] == "code" else []
            long += [f"{path.name} cell {cell.get('id')}: {len(lines)} lines"] if len(lines) > 15 else []
    assert not long, "code cells over 15 lines:\n" + "\n".join(long)


def test_every_chapter_sizes_key_is_a_chapter():
    """The sizes are keyed by the chapters' own short names (`tooling.chapters`: "training" for 02_training)."""
    from dcgan_lib.tooling.chapters import chapters
    from dcgan_lib.zoo.sizes import SIZES

    assert set(SIZES) <= set(chapters()), sorted(set(SIZES) - set(chapters()))


def test_the_readme_layout_names_every_entry_of_the_tree():
    """The README's layout table names every top-level entry of the repository, every module of each floor of
    the library and every benchmark, so that a reader can find each file's room."""
    import re
    import subprocess

    text = (ROOT / "README.md").read_text()
    table = "\n".join(line for line in text[text.index("## Layout"):].splitlines()[1:] if line.startswith("|"))
    named = set(re.findall(r"`([^`]+)`", table))
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    top = {path.split("/")[0] + ("/" if "/" in path else "") for path in tracked}
    missing = [entry for entry in sorted(top) if entry not in named and f"{entry}run" not in named
               and entry not in {".gitignore", "README.md"}]
    modules_ = [path for path in tracked if re.fullmatch(r"dcgan_lib/\w+/\w+\.py", path)
                and not path.endswith("__init__.py") and Path(path).stem not in named]
    benchmarks = [path for path in tracked if path.startswith("benchmarks/") and Path(path).name not in named]
    assert not (missing or modules_ or benchmarks), (missing, modules_, benchmarks)
