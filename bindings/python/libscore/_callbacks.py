"""Adapters that let Python callables serve as the library's verifier and progress callbacks.

A ctypes callback must never let an exception escape into C. These adapters catch everything
the user's callable raises (and a malformed result), keep it, and return an error status; the
call that triggered them re-raises it once the library has returned (:meth:`CallbackErrors.run`).
"""

from __future__ import annotations

import ctypes
import numbers
from collections.abc import Iterable, Mapping, Sized
from typing import TYPE_CHECKING, Callable, Collection, List, Optional

from . import _convert, _structs
from ._library import check, last_error
from .errors import ERR_ABORTED, ERR_CALLBACK, OK, Abort, AbortedError, error_for_status
from .types import Phase, VerifyItem

if TYPE_CHECKING:
    from _ctypes import CFuncPtr

#: A Python verifier: one reward per item (a sequence of float, int or bool).
Verifier = Callable[[List[VerifyItem]], Collection[float]]
#: A Python progress callback: False aborts the call.
Progress = Callable[[Phase, int, int], Optional[bool]]


class CallbackErrors:
    """The exception a callback raised during the current library call, if any."""

    def __init__(self) -> None:
        self.pending: Optional[BaseException] = None

    def store(self, error: BaseException) -> int:
        """Keeps ``error`` (the first one wins) and returns the status to hand back to C."""
        if self.pending is None:
            self.pending = error
        return ERR_ABORTED if isinstance(error, Abort) else ERR_CALLBACK

    def run(self, call: Callable[[], int], callbacks: Mapping[str, CFuncPtr]) -> None:
        """Runs a library ``call`` (returning a status) that may invoke ``callbacks``, then raises:
        the callback's own exception if one was stored, else the ScoreError for the status."""
        self.pending = None
        # Alive until the call returns, even if a callback closes the handle (which drops them).
        running = dict(callbacks)
        status = call()
        del running
        error, self.pending = self.pending, None
        if error is None:
            check(status)
            return
        library_error = error_for_status(status, last_error()) if status != OK else None
        if isinstance(error, Abort):
            if isinstance(library_error, AbortedError):
                raise library_error from error
            raise AbortedError(ERR_ABORTED, str(error) or "aborted by a callback") from error
        if library_error is not None:
            raise error from library_error
        raise error


def _rewards(result: object, count: int) -> List[float]:
    """The verifier's result as ``count`` floats; TypeError/ValueError when malformed."""
    if not (isinstance(result, Sized) and isinstance(result, Iterable)) or isinstance(result, (str, bytes, Mapping)):
        raise TypeError(f"the verifier must return a sequence of {count} floats, "
                        f"not {type(result).__name__}")
    values = list(result)
    if len(values) != count:
        raise ValueError(f"the verifier returned {len(values)} rewards for {count} items")
    rewards = []
    for index, value in enumerate(values):
        if not isinstance(value, numbers.Real):
            raise TypeError(f"reward {index} must be a float, not {type(value).__name__}")
        rewards.append(float(value))
    return rewards


def verifier(function: Verifier, errors: CallbackErrors) -> CFuncPtr:
    """A ctypes verifier calling ``function(list[VerifyItem]) -> list[float]``."""

    def callback(items: ctypes._Pointer[_structs.VerifyItem], count: int,
                 rewards: ctypes._Pointer[ctypes.c_float], _user_data: Optional[int]) -> int:
        try:
            batch = [
                VerifyItem(
                    prompt=_convert.decoded(items[index].prompt),
                    response=_convert.decoded(items[index].response),
                    reference=_convert.decoded(items[index].reference),
                    turn=items[index].turn,
                    first_attempt=_convert.decoded(items[index].first_attempt),
                )
                for index in range(count)
            ]
            values = _rewards(function(batch), count)
            for index, value in enumerate(values):
                rewards[index] = value
            return OK
        except BaseException as error:  # noqa: BLE001 - nothing may escape into C
            return errors.store(error)

    return _structs.VERIFIER_FN(callback)


def progress(function: Progress, errors: CallbackErrors) -> CFuncPtr:
    """A ctypes progress callback calling ``function(phase, done, total)``.

    ``function`` returns None or True to go on, False to abort (or raises :class:`Abort`).
    """

    def callback(code: int, done: int, total: int, _user_data: Optional[int]) -> int:
        try:
            if function(_convert.named(Phase, code), done, total) is False:
                return errors.store(Abort("aborted by the progress callback"))
            return OK
        except BaseException as error:  # noqa: BLE001 - nothing may escape into C
            return errors.store(error)

    return _structs.PROGRESS_FN(callback)
