"""Routing the library's log lines to a Python callable."""

from __future__ import annotations

import sys
import threading
import traceback
from typing import Callable, List, Optional, Union

from . import _convert, _structs
from ._library import check, library
from .types import LogLevel

LEVELS = {"debug": LogLevel.DEBUG, "info": LogLevel.INFO, "warn": LogLevel.WARN,
          "error": LogLevel.ERROR}

_lock = threading.Lock()
# Every ctypes callback handed to the library: another thread may still be running a replaced
# one, so none is ever released.
_callbacks: List[object] = []


def set_log_callback(function: Optional[Callable[[LogLevel, str], object]],
                     level: Union[str, int] = "info") -> None:
    """Sends the library's log lines of ``level`` or above to ``function(level, message)``
    (``level`` a :class:`LogLevel`, ``message`` a str without newline). ``None`` turns logging
    off. Process-wide; ``function`` may be called on any thread that calls into the library.
    An exception raised by ``function`` is printed to stderr and otherwise ignored."""
    if function is not None and not callable(function):
        raise TypeError(f"function must be callable or None, not {type(function).__name__}")
    code = _convert.choice(level, LEVELS, "level")

    def forward(code: int, message: Optional[bytes], _user_data: Optional[int]) -> None:
        try:
            assert function is not None
            function(_convert.named(LogLevel, code), _convert.decoded(message) or "")
        except BaseException:  # noqa: BLE001 - nothing may escape into C
            traceback.print_exc(file=sys.stderr)

    callback = _structs.LOG_FN() if function is None else _structs.LOG_FN(forward)
    with _lock:
        _callbacks.append(callback)
        check(library().score_set_log_callback(callback, code, None))
