"""The exceptions users see. Each carries the CLI exit code it maps to.

Exit codes (ARCHITECTURE.md): 0 success, 1 the model or spec has a shape error,
2 bad usage or unreadable input.
"""

from __future__ import annotations


class ShapetraceError(Exception):
    """Base of every error shapetrace reports to a user as one line."""

    exit_code = 2


class ShapeError(ShapetraceError, ValueError):
    """A layer configuration or input shape that torch would reject.

    The message names the argument and the numbers, e.g.
    ``Conv2d: kernel_size 5 (dilated: 5) is larger than the padded input height 4 (3 + 2*0)``.
    """

    exit_code = 1

    def __init__(self, message: str, *, layer: str | None = None, argument: str | None = None,
                 fix: str | None = None) -> None:
        super().__init__(message)
        self.layer = layer
        self.argument = argument
        self.fix = fix


class UnknownLayerError(ShapeError):
    """The layer type is not a torch.nn class this version knows."""

    exit_code = 2


class ArgumentError(ShapeError):
    """A keyword torch's constructor would not take (unknown name, wrong type)."""

    exit_code = 2


class SpecError(ShapetraceError, ValueError):
    """A spec file or JSON body that is malformed (not a shape problem)."""

    exit_code = 2


class DataError(ShapetraceError):
    """A data file that is missing, truncated or corrupt."""

    exit_code = 2


class CheckpointError(ShapetraceError):
    """A checkpoint that cannot be loaded or written."""

    exit_code = 2


def one_line(e: BaseException) -> str:
    """An exception's message on one line (messages are shown as one-line errors everywhere)."""
    return " ".join(str(e).split())
