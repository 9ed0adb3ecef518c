# The two commands of the README. Each creates .venv when it is missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test install install-test system-packages test-python test-js test-browser lab clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# users' install: the wheel build compiles the JupyterLab extension (needs Node.js here only)
install: $(BIN)/python
	$(BIN)/pip install -q .

# PyTorch's CPU build: pinned so that pip takes the file this machine kind keeps on disk
# (a plain `torch` would fetch a CUDA build of several GB)
TORCH_PIN := torch==2.13.0

install-test: $(BIN)/python
	npm ci --no-audit --no-fund
	$(BIN)/pip install -q -e ".[test,torch]" "$(TORCH_PIN)"
	# an editable install does not place the built sidebar where JupyterLab looks: link it
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/jupyter-builder develop --overwrite .

demo: install
	$(BIN)/lakebook demo

lab: install
	$(BIN)/jupyter lab

# the Debian packages the tests use (chromium, redis-server, postgresql): installed when this
# runs as root with apt-get, else it stops at once naming them
system-packages:
	bash .ci/system-packages

test: system-packages install-test test-python test-js test-browser

test-python:
	$(BIN)/python -m pytest -q -p no:cacheprovider tests

test-js:
	npm run typecheck
	npm test

test-browser:
	PATH="$(abspath $(BIN)):$$PATH" npm run test:ui

clean:
	rm -rf $(VENV) node_modules kernel_magics/labextension extension/lib dist build test-output
