"""Bounded parsing of request documents (job specs as JSON or TOML text).

Python's parsers trust their input too much for a public API: `json` and `tomllib` recurse
per nesting level (RecursionError, a 500, at about a thousand levels), `int()` refuses
literals beyond 4300 digits with a bare ValueError, and `json` accepts `NaN`, `Infinity`
and `1e999` (infinite). `load_document` checks the text before the parser sees it, with
the strings and comments blanked out so that only the document's own syntax is counted:

- nesting depth (brackets and braces, open at once) at most `MAX_DEPTH`;
- every run of digits in a number literal at most `MAX_DIGITS` long;
- JSON's `NaN`/`Infinity`/`-Infinity` refused;

and then parses with hooks that refuse non-finite floats (`1e999`, TOML's `inf`/`nan`), and
measures the parsed document's depth (TOML's dotted keys and table headers nest without
brackets). JSON has one number type: as JSON Schema (and so the OpenAPI document) reads it,
`5.0` is the integer 5, so an integral JSON number is an `int` (up to 2**53, where floats
are exact); TOML's floats stay floats, as TOML types them.

Refusals are `DocumentError`s (422) naming the problem and where it is; syntax errors stay
`json.JSONDecodeError` / `tomllib.TOMLDecodeError` for the caller to report.
The size of the text is bounded before it is read (`Settings.max_spec_bytes`).
"""

import json
import math
import re
import tomllib
from collections.abc import Callable
from typing import Any, Literal

MAX_DEPTH = 32
MAX_DIGITS = 30
EXACT_INT = 2**53  # floats up to here hold every integer exactly

Loc = list[str | int]

# Strings (and TOML's comments), matched from their opening character. An unterminated one
# runs to the end of the text (or of its line), where the parser refuses it before reaching
# anything that follows.
_JSON_SKIP = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\Z)', re.DOTALL)
_TOML_SKIP = re.compile(
    r'"""(?:[^\\]|\\.)*?(?:"""""|""""|"""|\Z)'  # multi-line basic: up to two quotes may end it
    r"|'''.*?(?:'''''|''''|'''|\Z)"  # multi-line literal
    r'|"(?:[^"\\\n]|\\.)*"?'  # basic (unterminated: to the end of the line)
    r"|'[^'\n]*'?"  # literal
    r"|#[^\n]*",  # comment
    re.DOTALL,
)
_BRACKETS = re.compile(r"[\[\]{}]")
_DIGITS = re.compile(r"0[xob]([0-9A-Fa-f_]+)|([0-9][0-9_]*)")  # TOML: 0x, 0o, 0b
_JSON_NON_FINITE = re.compile(r"-?\b(?:NaN|Infinity)\b")


class DocumentError(ValueError):
    """A document refused before or while parsing: status, location, why."""

    def __init__(self, loc: Loc, msg: str, kind: str, status_code: int = 422):
        super().__init__(f"{'.'.join(map(str, loc))}: {msg}")
        self.status_code, self.loc, self.msg, self.kind = status_code, loc, msg, kind

    def detail(self) -> list[dict[str, Any]]:
        return [{"type": self.kind, "loc": self.loc, "msg": self.msg}]


def _blank(text: str, skip: re.Pattern[str]) -> str:
    """`text` with strings and comments replaced by spaces (line breaks kept, so positions
    still point at the same line and column)."""
    return skip.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text)


def _where(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    return f"line {line}, column {pos - (text.rfind(chr(10), 0, pos) + 1) + 1}"


def _check_syntax(text: str, fmt: str, loc: Loc) -> None:
    bare = _blank(text, _JSON_SKIP if fmt == "json" else _TOML_SKIP)
    depth = 0 if fmt == "json" else 1  # a TOML document is a table: its first level
    for match in _BRACKETS.finditer(bare):
        depth += 1 if match.group() in "[{" else -1
        if depth > MAX_DEPTH:
            raise DocumentError(
                loc,
                f"nested deeper than {MAX_DEPTH} levels at {_where(text, match.start())}",
                "too_deep",
            )
    for match in _DIGITS.finditer(bare):
        digits = len((match.group(1) or match.group(2)).replace("_", ""))
        if digits > MAX_DIGITS:
            raise DocumentError(
                loc,
                f"a number of {digits} digits at {_where(text, match.start())}; numbers have "
                f"at most {MAX_DIGITS}",
                "number_too_long",
            )
    if fmt == "json" and (match := _JSON_NON_FINITE.search(bare)):
        raise _non_finite(loc, match.group(), _where(text, match.start()))


def _non_finite(loc: Loc, literal: str, where: str | None = None) -> DocumentError:
    at = f" at {where}" if where else ""
    return DocumentError(
        loc, f"{literal!r}{at} is not a finite number; numbers must be finite", "non_finite"
    )


def _finite_float(loc: Loc, integral_as_int: bool) -> Callable[[str], float | int]:
    def parse(literal: str) -> float | int:
        value = float(literal)
        if not math.isfinite(value):
            raise _non_finite(loc, literal)
        if integral_as_int and value.is_integer() and abs(value) <= EXACT_INT:
            return int(value)
        return value

    return parse


def _refuse_constant(loc: Loc) -> Callable[[str], Any]:
    def parse(literal: str) -> Any:
        raise _non_finite(loc, literal)

    return parse


def _depth(value: Any) -> int:
    """Nesting depth of parsed containers, without recursion (a scalar is 0)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level + 1)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def load_document(text: str, fmt: Literal["json", "toml"], loc: Loc | None = None) -> Any:
    """Parse JSON or TOML text within the limits above.

    Raises:
        DocumentError: too deep, a number too long or not finite (`loc` names the document).
        json.JSONDecodeError, tomllib.TOMLDecodeError: the text is not valid JSON or TOML.
    """
    loc = ["body"] if loc is None else loc
    _check_syntax(text, fmt, loc)
    if fmt == "json":
        data = json.loads(
            text, parse_float=_finite_float(loc, True), parse_constant=_refuse_constant(loc)
        )
    else:
        data = tomllib.loads(text, parse_float=_finite_float(loc, False))
    if _depth(data) > MAX_DEPTH:
        raise DocumentError(loc, f"nested deeper than {MAX_DEPTH} levels", "too_deep")
    return data
