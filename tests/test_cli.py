"""The command lines' argument types: every value inside the bounds comes back as a number, every value outside
(or not a number) is an argparse error that says what was expected and quotes what was given."""
import argparse
import math

import pytest
from hypothesis import given, strategies as st

from unigs.cli import decay, fraction, non_negative_int, number, positive_float, positive_int, positive_ints


@given(st.integers(-10**6, 10**6))
def test_integer_bounds(n):
    for parse, low in ((positive_int, 1), (non_negative_int, 0)):
        if n >= low:
            assert parse(str(n)) == n
        else:
            with pytest.raises(argparse.ArgumentTypeError, match=f"integer >= {low}, got '{n}'"):
                parse(str(n))


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_float_bounds(x):
    text = repr(x)
    cases = ((positive_float, math.isfinite(x) and x > 0), (fraction, 0 <= x <= 1), (decay, 0 <= x < 1))
    for parse, ok in cases:
        if ok:
            assert parse(text) == x
        else:
            with pytest.raises(argparse.ArgumentTypeError, match="expected a number"):
                parse(text)


@pytest.mark.parametrize("text", ["", "a", "1.5", "1e3"])
def test_an_integer_option_refuses_what_is_not_an_integer(text):
    with pytest.raises(argparse.ArgumentTypeError, match=f"expected an integer >= 1, got {text!r}"):
        positive_int(text)


def test_argparse_names_the_option_in_the_error(capsys):
    p = argparse.ArgumentParser(prog="prog")
    p.add_argument("--steps", type=number(int, 2, 9))
    assert p.parse_args(["--steps", "9"]).steps == 9
    with pytest.raises(SystemExit):
        p.parse_args(["--steps", "10"])
    assert "argument --steps: expected an integer >= 2 and <= 9, got '10'" in capsys.readouterr().err


@pytest.mark.parametrize("text, expected", [("32", (32,)), ("32,64,128", (32, 64, 128))])
def test_widths_parse(text, expected):
    assert positive_ints(text) == expected


@pytest.mark.parametrize("text", ["", "32,", "32,a", "0,32", "-1"])
def test_bad_widths_are_refused(text):
    with pytest.raises(argparse.ArgumentTypeError, match="comma-separated integers >= 1"):
        positive_ints(text)
