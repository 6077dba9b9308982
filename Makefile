# The two commands of the README: `make book` builds the HTML book, `make test` runs the tests.
# Both create the virtual environment on first use (pip, not uv/poetry: torch comes from the local index).
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv test test-browser book references benchmark clean-book

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

# Library tests + every chapter through nbval at the `ci` profile.
test: venv
	DCGAN_PROFILE=ci $(PY) -m pytest

# The rendered book in headless Chromium (needs Debian's chromium: apt-get install chromium).
test-browser: venv
	DCGAN_PROFILE=ci $(PY) -m pytest -m browser tests/browser

# Execute every chapter at the `book` profile and render HTML into _build/html; a failing cell fails the build.
book: venv
	DCGAN_PROFILE=book DCGAN_PROGRESS=0 $(VENV)/bin/jupyter-book build . --warningiserror --keep-going

# Re-record the expected outputs of the chapters' `# NBVAL_CHECK_OUTPUT` cells.
references: venv
	DCGAN_PROFILE=ci $(PY) tests/update_notebook_references.py

benchmark: venv
	$(PY) benchmarks/train_throughput.py --image-size 64 --batch-size 128 --steps 10 --device cpu

clean-book:
	rm -rf _build
