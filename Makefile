# The two commands of the README: `make book` builds the HTML book, `make test` runs the tests.
# Both create the virtual environment on first use (pip, not uv/poetry: torch comes from the local index).
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv test test-browser book book-from book-times run-times references benchmark clean-book

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

# Render a run folder's executed notebooks (python -m dcgan_lib.run) in place of their chapters, without
# executing them again; the other chapters execute at `book`, sharing this build's cache. E.g. RUN=runs/full.
book-from: venv
	@test -n "$(RUN)" || { echo "usage: make book-from RUN=runs/full"; exit 2; }
	$(PY) -m dcgan_lib.publish $(RUN) _build/staging
	DCGAN_PROFILE=book DCGAN_PROGRESS=0 $(VENV)/bin/jupyter-book build _build/staging --path-output _build/book-from --warningiserror --keep-going
	@echo "The book with the run's notebooks: _build/book-from/_build/html/index.html"

# After `make book`: record each chapter's execution time in that build (book profile) in dcgan_lib/run_times.json.
book-times: venv
	$(PY) -m dcgan_lib.timings --from-build _build/.jupyter_cache --profile book

# Time each chapter alone from an empty cache with papermill: PROFILE=ci (default) or book, CHAPTERS=a,b to choose.
run-times: venv
	$(PY) -m dcgan_lib.timings --profile $(or $(PROFILE),ci) $(if $(CHAPTERS),--chapters $(CHAPTERS))

# Re-record the expected outputs of the chapters' `# NBVAL_CHECK_OUTPUT` cells.
references: venv
	DCGAN_PROFILE=ci $(PY) tests/update_notebook_references.py

benchmark: venv
	$(PY) benchmarks/train_throughput.py --image-size 64 --batch-size 128 --steps 10 --device cpu

clean-book:
	rm -rf _build
