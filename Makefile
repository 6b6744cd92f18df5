# Keeptrusts Gateway — developer entry points. `make run` and `make test` do all set-up themselves.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit venv bytecode system-deps bench bench-peers soak clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# compiled modules, as an installed wheel has them: every gateway start (tests spawn many)
# skips compiling the sources, even where PYTHONDONTWRITEBYTECODE is set
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q -j 0 src

run: $(STAMP) bytecode
	$(BIN)/kt gateway run

system-deps:
	bash scripts/install-system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) bytecode
	$(BIN)/pytest -q

test: $(STAMP) system-deps lint typecheck unit

bench: $(STAMP) bytecode system-deps
	$(BIN)/python -m bench.run

bench-peers: $(STAMP) bytecode system-deps
	$(BIN)/python -m bench.run --peers

soak: $(STAMP) bytecode system-deps
	$(BIN)/python -m bench.soak

clean:
	rm -rf $(VENV) build dist src/*.egg-info .mypy_cache .ruff_cache .pytest_cache
	find src tests bench -name __pycache__ -type d -prune -exec rm -rf {} +
