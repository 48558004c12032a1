"""The semantics of each operation (vmlab.values), against SPEC examples and
against Python/C reference computations."""

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vmlab import values as v

MIN, MAX = v.INT_MIN, v.INT_MAX
i64 = st.integers(MIN, MAX)


def c_trunc_div(a, b):
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


@given(i64, i64)
def test_int_arithmetic_wraps_like_two_complement(a, b):
    mask = (1 << 64) - 1
    for f, exact in ((v.add, a + b), (v.sub, a - b), (v.mul, a * b)):
        r = f(a, b)
        assert MIN <= r <= MAX and r & mask == exact & mask


@given(i64, i64.filter(lambda b: b != 0))
def test_division_truncates_and_remainder_has_sign_of_dividend(a, b):
    q, r = v.div(a, b), v.mod(a, b)
    assert q == v.wrap(c_trunc_div(a, b))
    assert r == a - c_trunc_div(a, b) * b
    assert r == 0 or (r < 0) == (a < 0)


def test_spec_division_examples():
    assert v.div(-7, 2) == -3 and v.mod(-7, 2) == -1
    assert v.div(MIN, -1) == MIN and v.mod(MIN, -1) == 0
    assert v.add(MAX, 1) == MIN
    for f in (v.div, v.mod):
        with pytest.raises(v.ToyError, match="^division by zero$"):
            f(1, 0)


@given(i64, st.integers(-200, 200))
def test_shifts_use_count_mod_64(a, b):
    n = b & 63
    assert v.shl(a, b) == v.wrap(a << n)
    assert v.shr(a, b) == a >> n
    assert v.shl(1, 64) == 1 and v.shl(1, 63) == MIN and v.shr(-8, 70) == -1


def test_float_division_and_fmod_follow_ieee_and_c():
    inf, nan = math.inf, math.nan
    assert v.div(1.0, 0.0) == inf and v.div(-1.0, 0.0) == -inf
    assert v.div(1.0, -0.0) == -inf
    assert math.isnan(v.div(0.0, 0.0)) and math.isnan(v.div(nan, 0.0))
    assert v.mod(-7.0, 2.0) == -1.0 and v.mod(7.0, -2.0) == 1.0
    assert math.isnan(v.mod(1.0, 0.0)) and math.isnan(v.mod(inf, 2.0))
    assert v.mod(5.0, inf) == 5.0
    assert math.copysign(1.0, v.mod(-0.0, 3.0)) == -1.0
    assert v.mul(1e308, 10.0) == inf


def test_float_to_int_truncates_and_saturates():
    assert v.to_int(-2.9) == -2 and v.to_int(2.9) == 2
    assert v.to_int(math.nan) == 0
    assert v.to_int(math.inf) == MAX and v.to_int(-math.inf) == MIN
    assert v.to_int(1e30) == MAX and v.to_int(-1e30) == MIN
    assert v.to_int(9.223372036854775807e18) == MAX  # 2**63 rounds up
    assert v.to_int(-9.223372036854775808e18) == MIN


def test_builtins():
    assert v.abs_(MIN) == MIN and v.abs_(-3) == 3 and v.abs_(-0.0) == 0.0
    assert math.copysign(1.0, v.abs_(-0.0)) == 1.0
    assert math.isnan(v.sqrt(-1.0)) and math.copysign(1.0, v.sqrt(-0.0)) == -1.0
    assert v.to_float(MAX) == 9.223372036854775807e18
    assert v.neg(MIN) == MIN and v.bit_not(0) == -1


@pytest.mark.parametrize("f, args, message", [
    (v.add, (1, 1.0), "cannot apply '+' to int and float"),
    (v.add, (True, True), "cannot apply '+' to bool and bool"),
    (v.lt, (True, False), "cannot apply '<' to bool and bool"),
    (v.eq, (1, 1.0), "cannot apply '==' to int and float"),
    (v.eq, (None, 0), "cannot apply '==' to nil and int"),
    (v.bit_and, (1.0, 1), "cannot apply '&' to float and int"),
    (v.neg, (True,), "cannot apply '-' to bool"),
    (v.not_, (1,), "cannot apply 'not' to int"),
    (v.sqrt, (4,), "cannot apply 'sqrt' to int"),
    (v.length, (3,), "cannot apply 'len' to int"),
    (v.to_float, (None,), "cannot apply 'float' to nil"),
])
def test_type_errors_name_the_operator_and_types(f, args, message):
    with pytest.raises(v.ToyError) as info:
        f(*args)
    assert str(info.value) == "type error: " + message


def test_equality_is_typed_and_arrays_compare_by_identity():
    a, b = v.array_fill(2, 0), v.array_fill(2, 0)
    assert v.eq(a, a) and not v.eq(a, b) and v.ne(a, b)
    assert v.eq(None, None) and v.eq(True, True)
    assert not v.eq(math.nan, math.nan) and v.ne(math.nan, math.nan)
    assert v.eq(0.0, -0.0)


def test_arrays():
    a = v.array_fill(3, 1.5)
    v.store_index(a, 2, -0.0)
    assert v.format_value(a) == "[1.5, 1.5, -0.0]"
    assert v.index(a, 0) == 1.5 and v.length(a) == 3
    for i, message in ((3, "index 3 out of bounds for length 3"),
                       (-1, "index -1 out of bounds for length 3"),
                       (1.0, "type error: array index must be int, not float")):
        with pytest.raises(v.ToyError, match=f"^{message}$"):
            v.index(a, i)
    with pytest.raises(v.ToyError, match="^type error: cannot store int in array of float$"):
        v.store_index(a, 0, 1)
    with pytest.raises(v.ToyError, match="^negative array length -1$"):
        v.array_fill(-1, 0)
    with pytest.raises(v.ToyError, match="exceeds the limit"):
        v.array_fill(v.MAX_ARRAY_LENGTH + 1, 0)
    with pytest.raises(v.ToyError, match="^type error: cannot make an array of nil$"):
        v.array_literal([None])
    with pytest.raises(v.ToyError, match="one type, got int and float$"):
        v.array_literal([1, 2.0])


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_floats_print_as_python_repr(x):
    assert v.format_value(x) == repr(x)
    assert struct.pack("<d", float(v.format_value(x))) == struct.pack("<d", x) or math.isnan(x)


def test_format_values():
    assert [v.format_value(x) for x in (1, -0.0, 1e16, 0.1, True, False, None)] == \
        ["1", "-0.0", "1e+16", "0.1", "true", "false", "nil"]
    assert v.format_value(v.array_literal([True, False])) == "[true, false]"
