# The two commands of the README: `make book` builds the HTML book, `make test` runs the tests.
# Both create the virtual environment on first use (pip, not uv/poetry: torch comes from the local index).
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv lock lint test test-browser book models robustness book-from book-times run-times references benchmark clean-book bad-input-tally

# requirements.txt says what the book needs; constraints.txt pins the exact versions (`make lock` renews it).
$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt -c constraints.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

# Re-resolve requirements.txt in a fresh environment and pin what it installs in constraints.txt.
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --disable-pip-version-check -q -r requirements.txt
	{ head -2 constraints.txt; .venv-lock/bin/python -m pip freeze --exclude-editable | sort -f; } > constraints.new
	mv constraints.new constraints.txt && rm -rf .venv-lock
	@echo "constraints.txt renewed: run make test and make book with it, then commit it."

# The linter, then the library tests + every chapter through nbval at the `ci` profile.
test: venv lint
	DCGAN_PROFILE=ci $(PY) -m pytest

lint: venv
	$(VENV)/bin/ruff check .

# The rendered book in headless Chromium (needs Debian's chromium: apt-get install chromium).
test-browser: venv
	DCGAN_PROFILE=ci $(PY) -m pytest -m browser tests/browser

# Train the book's models (one per core, one thread each) and execute every chapter at the `book` profile in one
# queue (a chapter starts once its models are stored), two chapters at a time, each in a plain papermill process with no cell timeout (a watchdog ends a chapter idle for 5 minutes
# and runs it once more), then render the HTML into _build/html and list the claims that did not hold on this
# build's models. An error stops the build (run it again to resume at that chapter); a claim does not, unless
# STRICT=1. SEED=1 trains every model of the book from another seed, as another machine would.
book: venv
	$(PY) -m dcgan_lib.tooling.book_build --profile book $(if $(SEED),--seed $(SEED)) $(if $(filter 1 yes true,$(STRICT)),--strict)

# Only the models of `make book`: every stored model the chapters ask for, trained side by side on a CPU.
models: venv
	$(if $(SEED),DCGAN_SEED=$(SEED)) $(PY) -m dcgan_lib.tooling.book_models --profile $(or $(PROFILE),book)

# After `make book SEED=0`, `SEED=1` and `SEED=2`: every claim per seed, in dcgan_lib/core/robustness.json (the
# book's appendix "How robust is each claim" shows it; a claim is hard only where it held on every seed).
robustness: venv
	$(PY) -m dcgan_lib.tooling.robustness --seeds $(or $(SEEDS),0 1 2)

# Render a run folder's executed notebooks (python -m dcgan_lib.tooling.run) in place of their chapters, without
# executing them again; the other chapters are those of `make book` (executed if needed). E.g. RUN=runs/full.
book-from: venv
	@test -n "$(RUN)" || { echo "usage: make book-from RUN=runs/full"; exit 2; }
	$(PY) -m dcgan_lib.tooling.book_build --profile book --run $(RUN) --path-output _build/book-from
	@echo "The book with the run's notebooks: _build/book-from/_build/html/index.html"

# After `make book`: record each chapter's execution time in that build (book profile) in dcgan_lib/tooling/run_times.json.
book-times: venv
	$(PY) -m dcgan_lib.tooling.timings --from-build _build/executed/book --profile book

# Time each chapter alone from an empty cache with papermill: PROFILE=ci (default) or book, CHAPTERS=a,b to choose.
run-times: venv
	$(PY) -m dcgan_lib.tooling.timings --profile $(or $(PROFILE),ci) $(if $(CHAPTERS),--chapters $(CHAPTERS))

# Try every bad input and fault trial of tests/test_bad_input.py and tests/test_faults.py; print the counts.
bad-input-tally: venv
	DCGAN_PROFILE=ci $(PY) tests/test_bad_input.py

# Re-record the expected outputs of the chapters' `# NBVAL_CHECK_OUTPUT` cells.
references: venv
	DCGAN_PROFILE=ci $(PY) tests/update_notebook_references.py

benchmark: venv
	$(PY) benchmarks/train_throughput.py --image-size 64 --batch-size 128 --steps 10 --device cpu
	$(PY) benchmarks/classifier_speed.py
	$(PY) benchmarks/decode_once.py --images 2000

clean-book:
	rm -rf _build
