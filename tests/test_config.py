"""The configuration object: defaults, ARIGNOTE_FLAGS, change_flags, errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

import arignote
import arignote.tensor as T
from arignote import config
from arignote.config import Config, change_flags

CONFIG_FILE = sys.modules["arignote.config"].__file__


def run_python(code: str, **environment: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with extra environment variables."""
    env = {k: v for k, v in os.environ.items() if k not in ("ARIGNOTE_FLAGS", "THEANO_FLAGS")}
    env.update(environment)
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def config_module_code(then: str = "") -> str:
    """Code that runs only ``arignote/config.py`` (it imports nothing from the package).

    Subprocesses that test how the environment is read use it to start quickly;
    ``test_flags_from_the_environment_take_effect`` imports the whole package.
    """
    return (
        "import importlib.util as u, sys\n"
        f"spec = u.spec_from_file_location('arignote_config', {CONFIG_FILE!r})\n"
        "module = sys.modules[spec.name] = u.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n" + then
    )


def test_defaults():
    assert config.floatX == "float64"
    assert config.on_unused_input == "raise"
    assert config.compute_test_value == "off"
    assert arignote.config is config


def test_flags_from_the_environment_take_effect():
    code = (
        "import arignote, arignote.tensor as T\n"
        "print(arignote.config.floatX, T.matrix().dtype, T.constant(0.1).dtype,"
        " arignote.config.mode)"
    )
    result = run_python(code, ARIGNOTE_FLAGS="floatX=float32, mode=FAST_COMPILE")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["float32", "float32", "float32", "FAST_COMPILE"]


def test_arignote_flags_win_over_theano_flags():
    result = run_python(
        config_module_code("print(module.config.floatX)"),
        THEANO_FLAGS="floatX=float32",
        ARIGNOTE_FLAGS="floatX=float64",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "float64"


@pytest.mark.parametrize(
    "flags, expected",
    [
        ("nonsense=1", r"ARIGNOTE_FLAGS: unknown flag 'nonsense'; known flags: .*floatX"),
        ("floatX=float33", r"ARIGNOTE_FLAGS: config.floatX must be one of .*'float32'.*float33"),
        ("floatX", r"ARIGNOTE_FLAGS: expected key=value, got 'floatX'"),
        ("on_opt_error=maybe", r"config.on_opt_error must be one of .*'raise'.*maybe"),
    ],
)
def test_bad_environment_flags_are_clear_errors(flags, expected):
    result = run_python(config_module_code(), ARIGNOTE_FLAGS=flags)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("ValueError")
    assert re.search(expected, last_line), last_line


def test_bad_flag_fails_the_package_import():
    result = run_python("import arignote", ARIGNOTE_FLAGS="floatX=float33")
    assert result.returncode != 0
    assert "ARIGNOTE_FLAGS: config.floatX must be one of" in result.stderr


def test_legacy_theano_flags_warn_about_what_they_cannot_use():
    result = run_python(
        config_module_code("print(module.config.floatX)"),
        THEANO_FLAGS="device=cuda,floatX=float32,lib.cnmem=0.8",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "float32"
    assert "THEANO_FLAGS: config.device must be one of 'cpu'; got 'cuda' (ignored)" in result.stderr
    assert "unknown flag 'lib.cnmem'" in result.stderr


def test_change_flags_restores_values():
    assert config.floatX == "float64"
    with config.change_flags(floatX="float32", on_unused_input="ignore"):
        assert config.floatX == "float32" and config.on_unused_input == "ignore"
        assert T.vector().dtype == "float32"
        with change_flags(floatX="float16"):
            assert config.floatX == "float16"
        assert config.floatX == "float32"
    assert config.floatX == "float64" and config.on_unused_input == "raise"


def test_change_flags_restores_after_an_exception():
    with pytest.raises(RuntimeError), config.change_flags(floatX="float32"):
        raise RuntimeError("inside")
    assert config.floatX == "float64"


def test_change_flags_as_a_decorator():
    @config.change_flags(floatX="float32")
    def make():
        return T.scalar().dtype

    assert make() == "float32" and make() == "float32"
    assert config.floatX == "float64"


def test_change_flags_checks_before_changing_anything():
    with pytest.raises(ValueError, match="floatX must be one of"):
        config.change_flags(on_unused_input="ignore", floatX="float128").__enter__()
    assert config.on_unused_input == "raise"
    with pytest.raises(AttributeError, match="unknown config flag 'flaotX'"):
        config.change_flags(flaotX="float32").__enter__()


def test_setting_a_flag_directly_is_validated():
    private = Config(tuple(config._flags.values()))
    private.floatX = "float32"
    assert private.floatX == "float32" and config.floatX == "float64"
    with pytest.raises(ValueError, match="floatX must be one of"):
        private.floatX = "double"
    private.optimizer = "None"
    assert private.optimizer is None


def test_unknown_attribute_errors():
    with pytest.raises(AttributeError, match=r"unknown config flag 'flotX'; known flags: .*floatX"):
        _ = config.flotX
    with pytest.raises(AttributeError, match="unknown config flag 'flotX'"):
        config.flotX = "float32"
    assert getattr(config, "not_a_flag", None) is None
    assert not hasattr(config, "not_a_flag")
    assert "floatX" in dir(config)


def test_read_flag_string_directly():
    private = Config(tuple(config._flags.values()))
    private.read_flag_string("floatX=float32,,mode=FAST_COMPILE,", "test")
    assert private.floatX == "float32" and private.mode == "FAST_COMPILE"
    with pytest.raises(ValueError, match="test: unknown flag 'x'"):
        private.read_flag_string("x=1", "test")
    with pytest.warns(UserWarning, match="unknown flag 'x'.*ignored"):
        private.read_flag_string("x=1,floatX=float16", "legacy", lenient=True)
    assert private.floatX == "float16"
