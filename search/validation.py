"""Validation errors as data: which input (`source`), which field (`loc`), what is wrong.

Job specs and candidate files raise subclasses of `InputError`; the CLI prints `str(err)`
(`job.toml: budget.n_trials: Input should be greater than 0`) and the service puts `loc` and
`msg` into its 422 body as they are. This is the one place a pydantic error becomes ours.
"""

from pydantic import ValidationError

Loc = tuple[str | int, ...]


def format_error(source: str, loc: Loc | None, msg: str) -> str:
    """`source: field.path: msg`; `source: msg` when the error is not about one field."""
    if loc is None:
        return f"{source}: {msg}"
    return f"{source}: {'.'.join(map(str, loc)) or '(top level)'}: {msg}"


class InputError(ValueError):
    """Malformed input. `loc` is the field's path inside it (None: the input as a whole,
    e.g. a file that is not valid JSON; `()`: the top level)."""

    def __init__(self, source: str, msg: str, loc: Loc | None = None):
        super().__init__(format_error(source, loc, msg))
        self.source, self.msg, self.loc = source, msg, None if loc is None else tuple(loc)

    @classmethod
    def from_validation(cls, err: ValidationError, source: str) -> "InputError":
        """The first error pydantic found, without its wrapper names and prefixes."""
        first = err.errors()[0]
        loc = tuple(p for p in first["loc"] if not str(p).startswith("function-"))
        return cls(source, first["msg"].removeprefix("Value error, "), loc)
