"""The library's log lines, sent to Python's logging: the logger named ``libscore``.

The logger has a NullHandler, so nothing is printed until the application configures logging
(``logging.basicConfig(level=logging.INFO)``, or handlers on ``logging.getLogger("libscore")``).
"""

from __future__ import annotations

import ctypes
import logging
import sys
import threading
import traceback
import warnings
from typing import Callable, Dict, Optional, Tuple, Union

from . import _convert, _structs
from ._library import check, library
from .errors import OK, error_for_status
from .types import LogLevel

LEVELS = {"debug": LogLevel.DEBUG, "info": LogLevel.INFO, "warn": LogLevel.WARN,
          "error": LogLevel.ERROR}

#: libscore's levels (SCORE_LOG_*) as the logging module's.
LOGGING_LEVELS: Dict[int, int] = {LogLevel.DEBUG: logging.DEBUG, LogLevel.INFO: logging.INFO,
                  LogLevel.WARN: logging.WARNING, LogLevel.ERROR: logging.ERROR}

#: The logger the library's lines go to.
logger = logging.getLogger("libscore")
logger.addHandler(logging.NullHandler())

#: A function :func:`set_log_callback` sends lines to: ``function(level, message)``.
LogFunction = Callable[[LogLevel, str], object]

_lock = threading.Lock()
# Where lines go: None for the logger, else set_log_callback's function and its minimum level.
_route: Optional[Tuple[LogFunction, int]] = None


def _forward(code: int, message: Optional[bytes], _user_data: Optional[int]) -> None:
    try:
        text = _convert.decoded(message) or ""
        route = _route
        if route is None:
            logger.log(LOGGING_LEVELS.get(code, logging.WARNING), text)
        elif code >= route[1]:
            route[0](_convert.named(LogLevel, code), text)
    except BaseException:  # noqa: BLE001 - nothing may escape into C
        traceback.print_exc(file=sys.stderr)


# The one log callback the library is given, for the life of the process: a call running on
# another thread may still deliver a line to it after any change of route.
_CALLBACK = _structs.LOG_FN(_forward)


def install(lib: ctypes.CDLL) -> None:
    """Sends the lines of every level to the logger (run once, as the library is loaded)."""
    status = lib.score_set_log_callback(_CALLBACK, LogLevel.DEBUG, None)
    if status != OK:
        raise error_for_status(status, "score_set_log_callback refused the bindings' log callback")


def set_log_callback(function: Optional[LogFunction], level: Union[str, int] = "info") -> None:
    """Deprecated: the library's lines go to the ``libscore`` logger; configure that instead.

    Sends the library's log lines of ``level`` or above to ``function(level, message)``
    (``level`` a :class:`LogLevel`, ``message`` a str without newline) instead of the logger;
    ``None`` sends them to the logger again. Process-wide; ``function`` may be called on any
    thread that calls into the library. An exception raised by ``function`` is printed to stderr
    and otherwise ignored."""
    warnings.warn("libscore.set_log_callback is deprecated: the library's log lines go to the "
                  "logging module's 'libscore' logger", DeprecationWarning, stacklevel=2)
    if function is not None and not callable(function):
        raise TypeError(f"function must be callable or None, not {type(function).__name__}")
    code = _convert.choice(level, LEVELS, "level")
    global _route
    with _lock:
        check(library().score_set_log_callback(_CALLBACK, LogLevel.DEBUG if function is None else code, None))
        _route = None if function is None else (function, code)
