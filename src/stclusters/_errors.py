"""Error classes. Each subclasses a built-in so callers can catch either."""

from __future__ import annotations


class StclustersError(Exception):
    """Base class of every error stclusters raises on purpose."""


class ParameterError(StclustersError, ValueError):
    """A function argument is outside its allowed range or set."""


class ConfigError(StclustersError, ValueError):
    """A configuration file or profile is invalid (unknown key, bad value)."""


class InputError(StclustersError, ValueError):
    """An input file cannot be read; the message names the file, row and field."""

    def __init__(self, message: str, *, path: str | None = None, row: int | None = None,
                 field: str | None = None) -> None:
        where = []
        if path is not None:
            where.append(str(path))
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field '{field}'")
        super().__init__(f"{': '.join([', '.join(where), message]) if where else message}")
        self.path = path
        self.row = row
        self.field = field
