# Two commands on a fresh machine with only Python and pip:
#   make demo   books examples/orders.jsonl against the local sandbox
#   make test   lint, type check, and the test suite
#   make docs   the documentation site, into site/
# Both create (and then reuse) a local .venv by themselves.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LATEST := .venv-latest
DOCS_STAMP := $(VENV)/.docs-installed
MUTATION_STAMP := $(VENV)/.mutation-installed

.PHONY: demo test lint typecheck pytest test-latest bench docs mutation services services-stop clean

$(STAMP): pyproject.toml constraints/test.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints/test.txt -e '.[test,dev,cli]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/xportcn book examples/orders.jsonl --sandbox --fresh

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict xportcn_async

pytest: $(STAMP)
	$(BIN)/pytest

# The suite against the newest aiohttp (no constraints). The aioresponses tests need the
# pinned aiohttp and are deselected here, by name, not skipped silently.
$(LATEST)/.installed: pyproject.toml
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --quiet --upgrade pip
	$(LATEST)/bin/python -m pip install --quiet --upgrade -e '.[test,dev,cli]' aiohttp
	touch $(LATEST)/.installed

test-latest: $(LATEST)/.installed
	$(LATEST)/bin/python -c "import aiohttp; print('aiohttp', aiohttp.__version__)"
	$(LATEST)/bin/pytest -m "not aioresponses"

# Throwaway PostgreSQL and Redis on free 127.0.0.1 ports for the tests that need them (without
# them, those tests are deselected). Then: eval "$$(scripts/test-services.sh env)"; make test
services:
	scripts/test-services.sh start

services-stop:
	scripts/test-services.sh stop

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# The documentation site (mkdocs.yml, docs/) into site/. --strict: a broken link, a page
# missing from the navigation or an API name that does not resolve fails the build.
# Nothing is fetched from the network while building.
$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints/test.txt -e '.[docs]'
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# Mutation testing (mutmut, configured in pyproject.toml; scores in tests/README.md): a fresh
# run into mutants/, then the score per module (fails under 90 %). One module:
#   make mutation MUTANTS='xportcn_async.envelope*'
# PostgreSQL and Redis are not used: their variables are unset for the run.
$(MUTATION_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints/test.txt -e '.[mutation]'
	touch $(MUTATION_STAMP)

mutation: $(MUTATION_STAMP)
	rm -rf mutants
	env -u XPORTCN_TEST_POSTGRES_URL -u XPORTCN_TEST_REDIS_URL -u XPORTCN_REQUIRE_SERVICES \
		$(BIN)/mutmut run $(MUTANTS)
	$(BIN)/python scripts/mutation_score.py --min 90

clean:
	rm -rf $(VENV) $(LATEST) build site *.egg-info .mypy_cache .ruff_cache .pytest_cache mutants
