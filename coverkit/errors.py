"""One exception hierarchy for coverkit.

Every error a user can cause derives from :class:`CoverkitError`; each
specific error also subclasses the fitting builtin so generic handlers keep
working. Messages name the file, column or value and say what to do.
The CLI catches :class:`CoverkitError`, prints the message on one line and
exits with status 2; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class CoverkitError(Exception):
    """Root of every error coverkit raises on purpose."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return " ".join(str(a) for a in self.args) if self.args else ""


class InputFileError(OSError, CoverkitError):
    """A file is missing, unreadable, empty or in the wrong format."""

    def __str__(self) -> str:
        return CoverkitError.__str__(self)


class MissingColumnError(KeyError, CoverkitError):
    """A table lacks a required column (or it cannot be recognised)."""

    def __str__(self) -> str:
        return CoverkitError.__str__(self)


class CRSError(ValueError, CoverkitError):
    """A layer has no CRS, an unusable CRS, or layers disagree."""


class InvalidValueError(ValueError, CoverkitError):
    """A value in an input table or a parameter is out of range or malformed."""


class ConfigError(ValueError, CoverkitError):
    """A configuration file has unknown keys or values of the wrong type."""


class EmptyInputError(ValueError, CoverkitError):
    """An input has nothing usable in the county (no roads, no cells, no points)."""


class InfeasibleError(CoverkitError):
    """A model cannot be solved as asked (e.g. p larger than the candidates)."""


class SolverError(RuntimeError, CoverkitError):
    """The MIP solver failed or stopped without a proven optimum."""


class OutputError(OSError, CoverkitError):
    """An output path cannot be written."""

    def __str__(self) -> str:
        return CoverkitError.__str__(self)


__all__ = [
    "CRSError",
    "ConfigError",
    "CoverkitError",
    "EmptyInputError",
    "InfeasibleError",
    "InputFileError",
    "InvalidValueError",
    "MissingColumnError",
    "OutputError",
    "SolverError",
]
