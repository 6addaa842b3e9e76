"""Bounded parsing of JSON and TOML documents: limits refused with where and why, never a
RecursionError or a bare ValueError from the parser."""

import json
import tomllib

import pytest

from service.documents import MAX_DEPTH, MAX_DIGITS, DocumentError, load_document
from tests.utils.jobs import job_dict, job_json, job_toml


def _refused(text: str, fmt: str, loc=None) -> DocumentError:
    with pytest.raises(DocumentError) as info:
        load_document(text, fmt, loc)
    return info.value


def test_a_job_spec_parses_as_json_and_as_toml():
    spec = job_dict(name="same")
    assert load_document(job_json(name="same"), "json") == spec
    assert load_document(job_toml(name="same"), "toml") == spec


@pytest.mark.parametrize("fmt", ["json", "toml"])
def test_nesting_at_the_limit_parses_one_deeper_is_refused(fmt):
    def nested(levels: int) -> str:
        inner = "[" * levels + "1" + "]" * levels
        return f'{{"a": {inner[1:-1]}}}' if fmt == "json" else f"a = {inner[1:-1]}\n"

    # JSON: the object is one level, the arrays the rest; TOML: the table is one level.
    assert load_document(nested(MAX_DEPTH), fmt)
    error = _refused(nested(MAX_DEPTH + 1), fmt)
    assert error.kind == "too_deep" and error.status_code == 422
    assert f"deeper than {MAX_DEPTH}" in error.msg and "line 1, column" in error.msg


@pytest.mark.parametrize("fmt", ["json", "toml"])
def test_deep_nesting_that_would_overflow_the_parser_is_refused_before_it(fmt):
    levels = 100_000
    text = "[" * levels + "]" * levels
    text = text if fmt == "json" else f"a = {text}\n"
    assert _refused(text, fmt).kind == "too_deep"


def test_toml_dotted_keys_nest_without_brackets_and_are_bounded_too():
    key = ".".join(f"k{i}" for i in range(MAX_DEPTH + 1))
    assert _refused(f"{key} = 1\n", "toml").kind == "too_deep"
    header = "[" + ".".join(f"k{i}" for i in range(MAX_DEPTH + 1)) + "]\nx = 1\n"
    assert _refused(header, "toml").kind == "too_deep"


def test_brackets_inside_strings_and_comments_do_not_count():
    deep = "[" * 500
    assert load_document(json.dumps({"name": deep}), "json") == {"name": deep}
    toml = f'name = "{deep}"\nother = \'{deep}\'\nmore = """\n{deep}\n"""\n# {deep}\n'
    assert load_document(toml, "toml")["name"] == deep


@pytest.mark.parametrize("fmt", ["json", "toml"])
def test_integer_literals_are_bounded_in_digits(fmt):
    ok, long = "9" * MAX_DIGITS, "9" * (MAX_DIGITS + 1)
    text = '{"n": %s}' if fmt == "json" else "n = %s\n"
    assert load_document(text % ok, fmt) == {"n": int(ok)}
    error = _refused(text % long, fmt)
    assert error.kind == "number_too_long"
    assert f"{MAX_DIGITS + 1} digits at line 1, column" in error.msg
    # Python's own limit (4300 digits) would raise a bare ValueError: refused before it.
    assert _refused(text % ("1" * 5000), fmt).kind == "number_too_long"


def test_toml_underscores_and_prefixed_integers_count_their_digits():
    assert load_document("n = 1_000_000\n", "toml") == {"n": 1_000_000}
    assert _refused("n = 0x" + "f" * (MAX_DIGITS + 1) + "\n", "toml").kind == "number_too_long"
    assert _refused("n = 1_" * 1 + "0" * (MAX_DIGITS + 1) + "\n", "toml").kind == (
        "number_too_long"
    )


def test_long_numbers_inside_strings_are_text():
    digits = "1" * 5000
    assert load_document(json.dumps({"s": digits}), "json") == {"s": digits}
    assert load_document(f's = "{digits}"\n', "toml") == {"s": digits}


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_json_non_finite_constants_are_refused(literal):
    text = '{"budget": {"timeout_s": ' + literal + "}}"
    error = _refused(text, "json", ["body", "spec"])
    assert error.kind == "non_finite" and error.loc == ["body", "spec"]
    assert repr(literal) in error.msg and "line 1, column 26" in error.msg


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ('{"x": 1e999}', "json"),
        ("x = 1e999\n", "toml"),
        ("x = inf\n", "toml"),
        ("x = -nan\n", "toml"),
    ],
)
def test_non_finite_floats_are_refused(text, fmt):
    assert _refused(text, fmt).kind == "non_finite"


def test_syntax_errors_stay_the_parsers_own():
    with pytest.raises(json.JSONDecodeError):
        load_document('{"a": ', "json")
    with pytest.raises(tomllib.TOMLDecodeError):
        load_document("a = \n", "toml")
    with pytest.raises(tomllib.TOMLDecodeError):  # unterminated string: nothing hidden after it
        load_document('a = "' + "[" * 50, "toml")


def test_detail_is_a_field_error_list():
    error = _refused("[" * (MAX_DEPTH + 1), "json", ["body"])
    assert error.detail() == [{"type": "too_deep", "loc": ["body"], "msg": error.msg}]


def test_integral_json_numbers_are_integers_as_json_schema_reads_them():
    data = load_document('{"n": 7324.0, "e": 1e3, "x": 0.5, "big": 1e300}', "json")
    assert data == {"n": 7324, "e": 1000, "x": 0.5, "big": 1e300}
    assert type(data["n"]) is int and type(data["e"]) is int and type(data["big"]) is float
    assert type(load_document("n = 7324.0\n", "toml")["n"]) is float  # TOML types its numbers
