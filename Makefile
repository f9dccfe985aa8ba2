# The two commands of the README. Both create .venv on first use; `make bench` uses its own
# .venv-bench, where the compared systems (the `bench` extra) are installed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BENCH_VENV := .venv-bench
BENCH_PY := $(BENCH_VENV)/bin/python
ONE_THREAD := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

.PHONY: demo test bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml setup.py arignote/link/c/_trampoline.c | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(BENCH_PY):
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_PY) -m pip install --quiet --upgrade pip

$(BENCH_VENV)/.installed: pyproject.toml setup.py arignote/link/c/_trampoline.c | $(BENCH_PY)
	$(BENCH_PY) -m pip install --quiet -e '.[bench]'
	touch $@

$(VENV)/.installed-test: pyproject.toml setup.py arignote/link/c/_trampoline.c | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(PY) examples/logistic_regression.py
	$(PY) examples/mlp_sgd.py

test: $(VENV)/.installed-test
	$(PY) -m pytest $(PYTEST_ARGS)

# One thread each unless the benchmark sets threads itself (elemwise.py: 1 and 2; conv.py).
bench: $(BENCH_VENV)/.installed
	$(ONE_THREAD) $(BENCH_PY) benchmarks/seed.py
	$(BENCH_PY) benchmarks/elemwise.py
	$(ONE_THREAD) $(BENCH_PY) benchmarks/mlp_step.py
	$(ONE_THREAD) $(BENCH_PY) benchmarks/call_overhead.py
	$(ONE_THREAD) $(BENCH_PY) benchmarks/compile_time.py
	$(ONE_THREAD) $(BENCH_PY) benchmarks/rewrite_scaling.py
	$(ONE_THREAD) $(BENCH_PY) benchmarks/creation_site.py
	$(ONE_THREAD) $(BENCH_PY) benchmarks/rnn_scan.py
	$(BENCH_PY) benchmarks/conv.py --threads 1

clean:
	rm -rf $(VENV) $(BENCH_VENV) build *.egg-info
