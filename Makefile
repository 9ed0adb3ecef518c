# The two commands of the README. Each creates .venv when it is missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test install install-test system-packages test-python test-js test-browser test-torch lab clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# users' install: the wheel build compiles the JupyterLab extension (needs Node.js here only)
install: $(BIN)/python
	$(BIN)/pip install -q .

install-test: $(BIN)/python
	npm ci --no-audit --no-fund
	$(BIN)/pip install -q -e ".[test]"
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

# the PyTorch tests run under `make test-torch` (below), not in the main suite
test-python:
	$(BIN)/python -m pytest -q -p no:cacheprovider tests $(foreach t,$(TORCH_TESTS),--ignore=$(t))

# PyTorch from PyPI is 2.7 GB of CUDA wheels, so the main suite does not install it (it covers
# PyTorch's conventions with an exported ONNX model); this installs it and runs its tests
TORCH_TESTS := tests/test_frameworks_torch.py tests/security/test_torch_artifacts.py
test-torch: install-test
	$(BIN)/pip install -q -e ".[test,torch]"
	CI=true LAKEBOOK_REQUIRE_TORCH=1 $(BIN)/python -m pytest -q -p no:cacheprovider $(TORCH_TESTS)

test-js:
	npm run typecheck
	npm test

test-browser:
	PATH="$(abspath $(BIN)):$$PATH" npm run test:ui

clean:
	rm -rf $(VENV) node_modules kernel_magics/labextension extension/lib dist build test-output
