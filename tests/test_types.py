"""TensorType, the variable constructors, constants and Theano's dtype rules."""

from __future__ import annotations

import numpy as np
import pytest

import arignote
import arignote.tensor as T
from arignote import config
from arignote.tensor import TensorConstant, TensorType, TensorVariable

PREFIX_DTYPES = {
    "b": "int8",
    "w": "int16",
    "i": "int32",
    "l": "int64",
    "f": "float32",
    "d": "float64",
    "c": "complex64",
    "z": "complex128",
}
KIND_SHAPES = {
    "scalar": (),
    "vector": (None,),
    "row": (1, None),
    "col": (None, 1),
    "matrix": (None, None),
    "tensor3": (None,) * 3,
    "tensor4": (None,) * 4,
    "tensor5": (None,) * 5,
}
PLURALS = {kind: ("matrices" if kind == "matrix" else kind + "s") for kind in KIND_SHAPES}


# ---- TensorType -----------------------------------------------------------------------------
def test_tensor_type_from_broadcastable():
    t = TensorType("float32", (False, True))
    assert t.dtype == "float32"
    assert t.broadcastable == (False, True)
    assert t.shape == (None, 1)
    assert t.ndim == 2


def test_tensor_type_from_shape():
    t = TensorType("int64", shape=(3, 1, None))
    assert t.shape == (3, 1, None)
    assert t.broadcastable == (False, True, False)


def test_static_length_one_is_broadcastable():
    assert TensorType("float64", (True,)) == TensorType("float64", shape=(1,))
    assert hash(TensorType("float64", (True,))) == hash(TensorType("float64", shape=(1,)))
    assert TensorType("float64", (False,)) == TensorType("float64", shape=(None,))
    assert TensorType("float64", shape=(2,)) != TensorType("float64", shape=(None,))
    assert TensorType("float64", shape=(None,)) != TensorType("float32", shape=(None,))


def test_tensor_type_accepts_numpy_dtypes_and_floatx():
    assert TensorType(np.float32, (False,)).dtype == "float32"
    assert TensorType(np.dtype("int16"), ()).dtype == "int16"
    assert TensorType("floatX", ()).dtype == config.floatX
    with config.change_flags(floatX="float32"):
        assert TensorType("floatX", ()).dtype == "float32"


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: TensorType("float64"), "broadcastable= or shape="),
        (lambda: TensorType("string", (False,)), "unknown dtype 'string'"),
        (lambda: TensorType("S", (False,)), "unsupported dtype"),
        (lambda: TensorType("float64", shape=(-1,)), "negative length"),
        (lambda: TensorType("float64", (True,), shape=(3,)), "broadcastable but has length 3"),
        (lambda: TensorType("float64", (True, False), shape=(1,)), "different lengths"),
    ],
)
def test_tensor_type_errors(make, message):
    with pytest.raises((TypeError, ValueError), match=message):
        make()


def test_tensor_type_is_super():
    general = TensorType("float64", shape=(None, None))
    specific = TensorType("float64", shape=(2, 1))
    assert general.is_super(specific) and not specific.is_super(general)
    assert not general.is_super(TensorType("float32", shape=(None, None)))
    assert not general.is_super(TensorType("float64", shape=(None,)))


def test_tensor_type_str_names_dtype_and_kind():
    assert str(TensorType("float32", shape=(None, None))) == "TensorType(float32, matrix)"
    assert "row" in str(TensorType("int8", shape=(1, None)))
    assert "col" in str(TensorType("int8", shape=(None, 1)))
    assert "3" in str(TensorType("int8", shape=(3, None)))


def test_tensor_type_call_makes_a_named_variable():
    x = TensorType("float64", (False,))("x")
    assert isinstance(x, TensorVariable) and x.name == "x" and x.ndim == 1


# ---- filter: converting user values ---------------------------------------------------------
def test_filter_converts_safe_values_and_checks_shape():
    t = TensorType("float64", shape=(None, 2))
    value = t.filter([[1, 2], [3, 4]])
    assert isinstance(value, np.ndarray) and value.dtype == np.float64
    np.testing.assert_array_equal(value, [[1, 2], [3, 4]])
    with pytest.raises(TypeError, match="wrong number of dimensions: expected 2"):
        t.filter([1.0, 2.0])
    with pytest.raises(TypeError, match="dimension 1 must have length 2"):
        t.filter(np.zeros((2, 3)))


def test_filter_refuses_a_narrowing_conversion_unless_allowed():
    t = TensorType("float32", shape=(None,))
    with pytest.raises(TypeError, match="float64"):
        t.filter(np.array([1.0, 2.0]))
    assert t.filter(np.array([1.0, 2.0]), allow_downcast=True).dtype == np.float32
    assert t.filter(np.array([1, 2], dtype="int8")).dtype == np.float32
    ints = TensorType("int32", shape=(None,))
    with pytest.raises(TypeError):
        ints.filter([1.5])
    np.testing.assert_array_equal(ints.filter([1, 2]), [1, 2])


def test_filter_strict():
    t = TensorType("float64", shape=(None,))
    with pytest.raises(TypeError, match="float64"):
        t.filter([1.0], strict=True)
    value = np.array([1.0])
    assert t.filter(value, strict=True) is value


def test_filter_rejects_symbolic_variables():
    with pytest.raises(TypeError, match="symbolic Variable"):
        TensorType("float64", ()).filter(T.scalar("x"))


# ---- constructors ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(KIND_SHAPES))
@pytest.mark.parametrize("prefix", [""] + list(PREFIX_DTYPES))
def test_every_constructor(prefix, kind):
    constructor = getattr(T, prefix + kind)
    dtype = PREFIX_DTYPES.get(prefix, config.floatX)
    variable = constructor("v")
    assert isinstance(variable, TensorVariable)
    assert variable.name == "v" and variable.owner is None
    assert variable.dtype == dtype
    assert variable.type.shape == KIND_SHAPES[kind]
    assert variable.broadcastable == tuple(s == 1 for s in KIND_SHAPES[kind])
    assert constructor().name is None

    plural = getattr(T, prefix + PLURALS[kind])
    a, b = plural("a", "b")
    assert (a.name, b.name) == ("a", "b") and a is not b
    assert a.type == b.type == variable.type
    three = plural(3)
    assert len(three) == 3 and all(v.name is None for v in three)


def test_prefixed_constructors_are_tensor_types_as_in_theano():
    assert isinstance(T.dmatrix, TensorType)
    assert T.dmatrix == TensorType("float64", (False, False))
    assert T.fvector.dtype == "float32" and T.irow.broadcastable == (True, False)
    assert T.ltensor4("x").type is T.ltensor4
    assert not isinstance(T.matrix, TensorType)  # floatX is read when called


def test_theano_plural_spellings():
    a, b = T.fmatrices("a", "b")
    assert a.dtype == b.dtype == "float32" and a.ndim == 2
    assert T.ivector().dtype == "int32"
    assert T.lscalar().dtype == "int64"
    assert T.dtensor3().ndim == 3
    assert not hasattr(T, "matrixs") and not hasattr(T, "fmatrixs")


def test_constructor_dtype_follows_floatx_when_called():
    assert T.matrix().dtype == "float64"  # the default floatX
    with config.change_flags(floatX="float32"):
        assert T.matrix().dtype == "float32"
        assert T.scalar().dtype == "float32"
        assert T.vectors("a", "b")[1].dtype == "float32"
        assert T.dmatrix().dtype == "float64"
    assert T.matrix().dtype == "float64"


def test_constructor_with_dtype_and_shape_keywords():
    x = T.matrix("x", dtype="int32")
    assert x.dtype == "int32"
    y = T.matrix("y", shape=(3, None))
    assert y.type.shape == (3, None)
    with pytest.raises(ValueError, match="expected 2"):
        T.matrix("z", shape=(3,))


def test_t_tensor():
    x = T.tensor("float32", broadcastable=(False, True), name="x")
    assert x.dtype == "float32" and x.type.shape == (None, 1) and x.name == "x"
    y = T.tensor("int16", shape=(2, None, 1))
    assert y.type.shape == (2, None, 1) and y.broadcastable == (False, False, True)
    z = T.tensor(dtype="float64", shape=(None,), name="z")
    assert z.name == "z" and z.ndim == 1
    assert T.tensor(shape=(None,)).dtype == config.floatX
    positional = T.tensor("float64", (False, False), "p")
    assert positional.name == "p" and positional.ndim == 2
    # The PyTensor spelling: the first argument is a name.
    named = T.tensor("a", shape=(2,))
    assert named.name == "a" and named.dtype == config.floatX
    assert T.tensor("b", shape=(2,)).name == "b"
    with pytest.raises(TypeError, match="broadcastable= or shape="):
        T.tensor("float64")


# ---- constants and dtype autocasting --------------------------------------------------------
@pytest.mark.parametrize(
    "value, dtype",
    [
        (1, "int8"),
        (-128, "int8"),
        (127, "int8"),
        (128, "int16"),
        (-129, "int16"),
        (70_000, "int32"),
        (2**40, "int64"),
        (1.5, "float32"),
        (0.25, "float32"),
        (0.1, "float64"),
        (1e300, "float64"),
        ([1, 2], "int64"),
        ([1.0, 2.5], "float64"),
        (np.array([1, 2], dtype="int16"), "int16"),
        (np.float32(0.1), "float32"),
        (np.int64(3), "int64"),
        (1 + 2j, "complex128"),
    ],
)
def test_autocast_of_values(value, dtype):
    for convert in (T.constant, T.as_tensor_variable):
        variable = convert(value)
        assert isinstance(variable, TensorConstant)
        assert variable.dtype == dtype, (value, convert)
        np.testing.assert_array_equal(variable.data, np.asarray(value))
        assert variable.ndim == np.ndim(value)
        assert variable.type.shape == np.shape(value)


def test_autocast_with_floatx_float32():
    with config.change_flags(floatX="float32"):
        assert T.constant(0.1).dtype == "float32"
        assert T.constant(1).dtype == "int8"
        assert T.constant([]).dtype == "float32"
    assert T.constant(0.1).dtype == "float64"
    assert T.constant([]).dtype == "float64"


def test_constant_with_dtype_ndim_and_name():
    c = T.constant(3, dtype="float32", name="three")
    assert c.dtype == "float32" and c.name == "three" and str(c) == "three"
    assert T.constant(2.0, ndim=2).type.shape == (1, 1)
    with pytest.raises(ValueError, match="cannot be a constant of 1 dims"):
        T.constant(np.zeros((2, 2)), ndim=1)


def test_constant_data_is_read_only():
    c = T.constant(np.arange(3.0))
    with pytest.raises(ValueError):
        c.data[0] = 5.0


@pytest.mark.parametrize("value", ["text", {"a": 1}, object(), 2**70, [[1, 2], [3]]])
def test_as_tensor_variable_rejects_non_numbers(value):
    with pytest.raises(TypeError, match="cannot"):
        T.as_tensor_variable(value)


def test_as_tensor_variable_rejects_bool_with_a_hint_about_eq():
    with pytest.raises(TypeError, match="T.eq"):
        T.as_tensor_variable(True)


def test_as_tensor_variable_passes_variables_through():
    x = T.matrix("x")
    assert T.as_tensor_variable(x) is x
    assert T.as_tensor_variable(x.owner or x) is x
    assert T.as_tensor is T.as_tensor_variable
    with pytest.raises(ValueError, match="expected 1"):
        T.as_tensor_variable(x, ndim=1)
    row = T.row("r")
    assert T.as_tensor_variable(row, ndim=1).ndim == 1


def test_as_tensor_variable_of_a_list_of_variables_stacks_them():
    a, b = T.scalars("a", "b")
    stacked = T.as_tensor_variable([a, b])
    assert stacked.ndim == 1
    np.testing.assert_allclose(stacked.eval({a: 1.0, b: 2.0}), [1.0, 2.0])


# ---- cast -----------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "float32", "float64", "complex64"])
def test_cast_and_astype(dtype):
    x = T.vector("x")
    value = np.array([-2.7, 0.0, 1.5, 3.9])
    for cast in (T.cast(x, dtype), x.astype(dtype)):
        assert cast.dtype == dtype
        result = cast.eval({x: value})
        assert result.dtype == dtype
        np.testing.assert_array_equal(result, value.astype(dtype))


def test_cast_to_floatx_and_to_the_same_dtype():
    x = T.ivector("x")
    assert T.cast(x, "int32") is x
    assert T.cast(x, "floatX").dtype == config.floatX
    with config.change_flags(floatX="float32"):
        assert T.cast(x, "floatX").dtype == "float32"
    assert T.cast(3, "float32").dtype == "float32"


def test_cast_from_complex_to_real_is_ambiguous():
    z = T.zvector("z")
    with pytest.raises(TypeError, match="complex .* ambiguous"):
        T.cast(z, "float64")
    assert T.cast(z, "complex64").dtype == "complex64"


def test_tensor_type_clone():
    t = TensorType("float32", shape=(None, 3))
    assert t.clone() == t
    assert t.clone(dtype="int8") == TensorType("int8", shape=(None, 3))
    assert t.clone(shape=(2, None)).shape == (2, None)
    assert t.clone(broadcastable=(True, False)).shape == (1, None)


def test_numpy_arrays_defer_to_variables():
    x = T.vector("x")
    for expression in (np.ones(2) + x, np.ones(2) * x, np.float64(2.0) - x):
        assert isinstance(expression, TensorVariable)
    np.testing.assert_allclose((np.array([1.0, 2.0]) * x).eval({x: [3.0, 4.0]}), [3.0, 8.0])


def test_cast_to_an_unknown_dtype():
    with pytest.raises(TypeError, match="unknown dtype 'string'"):
        T.cast(T.vector(), "string")


# ---- Python protocol corners ----------------------------------------------------------------
def test_len_is_a_clear_type_error():
    x = T.vector("x")
    with pytest.raises(TypeError, match=r"len\(\).*x\.shape\[0\]"):
        len(x)


def test_bool_is_a_clear_type_error():
    x = T.scalar("x")
    with pytest.raises(TypeError, match="no truth value.*switch"):
        if x > 0:
            pass


def test_eq_is_identity_not_elementwise():
    x, y = T.vectors("x", "y")
    assert (x == y) is False
    assert (x == x) is True  # noqa: PLR0124
    assert (x != y) is True
    assert x in [y, x] and x not in [y]
    a, b = T.constant(1.0), T.constant(1.0)
    assert (a == b) is False
    assert len({x, y, x}) == 2
    # Elementwise equality is T.eq.
    np.testing.assert_array_equal(T.eq(x, y).eval({x: [1.0, 2.0], y: [1.0, 3.0]}), [True, False])


def test_setitem_is_refused_with_a_hint():
    x = T.vector("x")
    with pytest.raises(TypeError, match="set_subtensor"):
        x[0] = 1.0


def test_iteration_over_a_vector_of_unknown_length():
    with pytest.raises(TypeError, match="cannot iterate"):
        list(T.vector("x"))


def test_top_level_names():
    for name in ("function", "shared", "In", "Out", "clone", "config", "grad", "tensor"):
        assert hasattr(arignote, name), name


def test_plural_constructor_with_one_string_makes_one_variable_per_letter():
    a, b, c = T.scalars("abc")
    assert [v.name for v in (a, b, c)] == ["a", "b", "c"]
    single = T.fmatrices("w")
    assert single.name == "w" and single.type == T.fmatrix
