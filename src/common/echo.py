"""What an error message may echo of the input it refuses: a short, printable excerpt, never the whole value.

A 400 that repeats a 50 MB string sends 50 MB back, and a lone surrogate or a 1,000-deep list in a message can break
the response that carries it. `echo` gives the first ~100 characters of the value's repr, an ellipsis and the size.
"""

from __future__ import annotations

import reprlib
import sys
from collections.abc import Iterable

ECHO_LIMIT = 100
"""Characters of the input an error message repeats."""

_CONTAINERS = reprlib.Repr()
_CONTAINERS.maxlevel = 3
_CONTAINERS.maxlist = _CONTAINERS.maxtuple = _CONTAINERS.maxdict = _CONTAINERS.maxset = 6
_CONTAINERS.maxstring = _CONTAINERS.maxlong = _CONTAINERS.maxother = 40


def echo(value: object, limit: int = ECHO_LIMIT) -> str:
    """`repr(value)` for an error message, cut to about `limit` characters with an ellipsis and the value's size.

    The repr escapes what cannot be printed (a lone surrogate comes back as its escape, \\ud800), so the message can
    always be encoded; nesting and lengths are bounded before anything is formatted.
    """
    if isinstance(value, str):
        return repr(value) if len(value) <= limit else f"{value[:limit]!r}... ({len(value):,} characters)"
    if isinstance(value, int) and not isinstance(value, bool):
        return _integer(value, limit)
    if isinstance(value, bool | float) or value is None:
        return repr(value)
    text = _CONTAINERS.repr(value)
    count = len(value) if isinstance(value, list | tuple | dict | set) else None
    size = "" if count is None else f" ({count:,} item{'' if count == 1 else 's'})"
    if len(text) > limit:
        return text[:limit] + "..." + size
    return text + (size if "..." in text else "")


def _integer(value: int, limit: int) -> str:
    try:
        digits = repr(value)
    except ValueError:  # past sys.get_int_max_str_digits()
        return f"an integer of more than {sys.get_int_max_str_digits():,} digits"
    return digits if len(digits) <= limit else f"{digits[:limit]}... ({len(digits.lstrip('-')):,} digits)"


def cut(message: str, limit: int) -> str:
    """A whole message cut to `limit` characters (many problems at once can add up to more than one echo each)."""
    if len(message) <= limit:
        return message
    return f"{message[:limit]}... ({len(message) - limit:,} more characters)"


def names(keys: Iterable[object], most: int = 8) -> str:
    """Field names for an error message ("'a', 'b'"), each echoed, the first `most` of them in sorted order."""
    shown = sorted(keys, key=str)
    listed = ", ".join(echo(key) for key in shown[:most])
    return listed + (f" and {len(shown) - most:,} more" if len(shown) > most else "")
