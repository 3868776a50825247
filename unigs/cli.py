"""What the command lines (``python -m unigs.train``, ``python -m unigs.ablate``) share: argument types that
turn a bad value into an argparse error naming the option and what it expected, before any data or model is
built, and the ``KEY=VALUE`` component options."""
from __future__ import annotations

import argparse
import json
import math


def number(cast=int, low=None, high=None, *, low_open: bool = False, high_open: bool = False):
    """An argparse ``type``: ``cast`` of the text, inside [low, high] (``*_open``: that end excluded)."""
    kind = "an integer" if cast is int else "a number"
    lo = "" if low is None else f"{'>' if low_open else '>='} {low}"
    hi = "" if high is None else f"{'<' if high_open else '<='} {high}"
    expected = f"{kind} {' and '.join(s for s in (lo, hi) if s)}".rstrip()

    def parse(text: str):
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if (isinstance(value, float) and not math.isfinite(value)) \
                or (low is not None and (value <= low if low_open else value < low)) \
                or (high is not None and (value >= high if high_open else value > high)):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


positive_int = number(int, 1)
non_negative_int = number(int, 0)
positive_float = number(float, 0, low_open=True)
non_negative_float = number(float, 0)
fraction = number(float, 0, 1)  # a probability, both ends allowed
decay = number(float, 0, 1, high_open=True)  # EMA decay, dropout: 1 would freeze / drop everything


def positive_ints(text: str) -> tuple[int, ...]:
    """``32,64,128`` -> ``(32, 64, 128)``; every part an integer >= 1."""
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers >= 1, got {text!r}")
    return values


def parse_options(pairs: list[str]) -> dict:
    """``["grid=6", "collision=nearest-free"]`` -> ``{"grid": 6, "collision": "nearest-free"}`` (values parsed
    as JSON where they can be)."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"options must look like KEY=VALUE, got {pair!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out
