"""pytest set-up for the whole repository.

* Chapters run at the `ci` profile unless DCGAN_PROFILE says otherwise, without progress bars (DCGAN_PROGRESS=0).
* Notebooks are stored without outputs, so nbval has nothing to compare a `# NBVAL_CHECK_OUTPUT` cell against.
  The expected outputs of those cells live in tests/notebook_outputs/<chapter>.json (regenerate them with
  `make references`), and are put back into each notebook as nbval reads it.
"""
import json
import os
from pathlib import Path

import nbformat

os.environ.setdefault("DCGAN_PROFILE", "ci")
os.environ.setdefault("DCGAN_PROGRESS", "0")  # no progress widgets in the kernels nbval compares (nobody watches them)
os.environ.setdefault("DCGAN_HEADLESS", "1")  # no live widgets either: nobody moves them, and they can hang a kernel
REFERENCE_DIR = Path(__file__).parent / "tests" / "notebook_outputs"
CHECK_MARKER = "NBVAL_CHECK_OUTPUT"


def inject_reference_outputs(nb: nbformat.NotebookNode, path: Path) -> nbformat.NotebookNode:
    """Fill the outputs of the notebook's check cells from its reference file, marking them as run."""
    reference_file = REFERENCE_DIR / f"{Path(path).stem}.json"
    references = json.loads(reference_file.read_text()) if reference_file.exists() else {}
    for cell in nb.cells:
        if cell.cell_type == "code" and CHECK_MARKER in cell.source and cell.get("id") in references:
            cell.outputs = [nbformat.from_dict(o) for o in references[cell["id"]]]
            cell.execution_count = 1
    return nb


class _NbformatWithReferences:
    """nbformat as nbval sees it: `read` also injects the reference outputs."""

    def __getattr__(self, name):
        return getattr(nbformat, name)

    def read(self, path, *args, **kwargs):
        return inject_reference_outputs(nbformat.read(path, *args, **kwargs), Path(str(path)))


try:
    import nbval.plugin

    nbval.plugin.nbformat = _NbformatWithReferences()
except ImportError:  # nbval not installed: only the library tests run
    pass
