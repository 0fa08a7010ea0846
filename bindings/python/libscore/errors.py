"""Exceptions raised by libscore."""

from __future__ import annotations

from typing import Dict, Optional, Type

OK = 0
ERR_INVALID_ARGUMENT = -1
ERR_INVALID_FILE = -2
ERR_IO = -3
ERR_CALLBACK = -4
ERR_ABORTED = -5
ERR_NON_FINITE = -6
ERR_BUFFER_TOO_SMALL = -7
ERR_STATE = -8
ERR_INTERNAL = -9


class ScoreError(Exception):
    """A libscore call failed.

    ``status`` is the library's status code (a negative ``score_status``), ``message`` the text
    of ``score_last_error()`` for that failure.
    """

    status: Optional[int] = None

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(status, message)

    def __str__(self) -> str:
        return f"{self.message} (status {self.status})" if self.message else f"status {self.status}"


class InvalidArgumentError(ScoreError, ValueError):
    """The library refused an argument (SCORE_ERR_INVALID_ARGUMENT)."""


class InvalidFileError(ScoreError):
    """A file or folder is missing, truncated or corrupt (SCORE_ERR_INVALID_FILE)."""


class ScoreIOError(ScoreError, OSError):
    """Reading or writing failed at the operating-system level (SCORE_ERR_IO)."""


class CallbackError(ScoreError):
    """A callback returned an error or a wrong result (SCORE_ERR_CALLBACK)."""


class AbortedError(ScoreError):
    """A callback asked to stop the call (SCORE_ERR_ABORTED); nothing changed."""


class NonFiniteError(ScoreError, ArithmeticError):
    """A value that must be finite was not (SCORE_ERR_NON_FINITE), e.g. a NaN reward."""


class BufferTooSmallError(ScoreError):
    """A buffer was too small (SCORE_ERR_BUFFER_TOO_SMALL); the bindings size buffers themselves."""


class StateError(ScoreError):
    """The call is not valid in the handle's current state (SCORE_ERR_STATE)."""


class InternalError(ScoreError):
    """A bug in the library (SCORE_ERR_INTERNAL); please report it with the message."""


class LibraryNotFoundError(OSError):
    """libscore.so was not found; the message lists every place searched."""


class VersionMismatchError(ImportError):
    """The loaded libscore.so has a major.minor version these bindings do not support."""


class Abort(Exception):
    """Raise from a verifier or progress callback to stop the current call.

    The call then fails with :class:`AbortedError` and changes nothing.
    """


_BY_STATUS: Dict[int, Type[ScoreError]] = {
    ERR_INVALID_ARGUMENT: InvalidArgumentError,
    ERR_INVALID_FILE: InvalidFileError,
    ERR_IO: ScoreIOError,
    ERR_CALLBACK: CallbackError,
    ERR_ABORTED: AbortedError,
    ERR_NON_FINITE: NonFiniteError,
    ERR_BUFFER_TOO_SMALL: BufferTooSmallError,
    ERR_STATE: StateError,
    ERR_INTERNAL: InternalError,
}


def error_for_status(status: int, message: str) -> ScoreError:
    """The exception for a failed call: the subclass matching ``status``, else ScoreError."""
    return _BY_STATUS.get(status, ScoreError)(status, message)
