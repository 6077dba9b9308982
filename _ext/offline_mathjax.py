"""Sphinx extension: serve MathJax from the built book itself, so formulas render offline as online.

MathJax 3 comes from the `django-static-mathjax` package on PyPI (which ships MathJax's `es5` build;
Django is not needed). The build copies the one combined component the pages load (`tex-mml-chtml.js`) with
the fonts and TeX extensions it fetches on demand into `_static/mathjax/`, and points `mathjax_path` at it.
"""
import shutil
from pathlib import Path

COMPONENT = "tex-mml-chtml.js"
ON_DEMAND = ("output/chtml/fonts", "input/tex/extensions", "a11y", "ui", "sre")  # what the component loads lazily


def mathjax_es5() -> Path:
    """MathJax's es5 folder inside the installed package; a clear error if the package is missing."""
    try:
        import mathjax  # the django-static-mathjax distribution's module
    except ImportError as err:
        raise RuntimeError("MathJax for the offline book is missing: pip install django-static-mathjax "
                           "(it is in requirements.txt; run `make venv`).") from err
    folder = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (folder / COMPONENT).exists():
        raise RuntimeError(f"{folder / COMPONENT} not found: reinstall django-static-mathjax.")
    return folder


def _use_local_copy(app, config):
    mathjax_es5()  # fail at the start of the build, not after it
    config.mathjax_path = f"mathjax/{COMPONENT}"  # relative paths are served from _static/


def _copy(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    source, target = mathjax_es5(), Path(app.outdir) / "_static" / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / COMPONENT, target / COMPONENT)
    for part in ON_DEMAND:
        if (source / part).is_dir():
            shutil.copytree(source / part, target / part, dirs_exist_ok=True)


def setup(app):
    app.connect("config-inited", _use_local_copy, priority=900)  # after jupyter-book's own settings
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
