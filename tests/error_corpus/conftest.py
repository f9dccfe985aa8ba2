"""The scripts here are programs with a bug, run one by one by ``tests/test_error_corpus.py``:
pytest must not import them (``--doctest-modules`` would run each at collection)."""

collect_ignore_glob = ["*.py"]
