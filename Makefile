# The two commands of the README. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(PY) examples/logistic_regression.py
	$(PY) examples/mlp_sgd.py

test: $(VENV)/.installed-test
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed
	$(PY) benchmarks/elemwise.py
	$(PY) benchmarks/rewrite_scaling.py
	OPENBLAS_NUM_THREADS=1 $(PY) benchmarks/rnn_scan.py
	$(PY) benchmarks/conv.py --threads 1

clean:
	rm -rf $(VENV) build *.egg-info
