"""libscore: teach a small language model to correct its own mistakes with SCoRe.

Python bindings (ctypes; numpy optional) to the C library libscore.so::

    import libscore

    with libscore.Policy({"hidden_size": 32, "num_layers": 2}, seed=1) as policy:
        print(policy.self_correct("12+34=", max_new_tokens=8).final_text)

The library is found through the LIBSCORE_PATH environment variable (a file or a folder), next
to this package, or in a SwiftPM build folder (.build/release, .build/debug) above it. Its log
lines go to the logging module's "libscore" logger.
"""

from ._library import EXPECTED_VERSION, library
from .errors import (
    Abort,
    AbortedError,
    BufferTooSmallError,
    CallbackError,
    InternalError,
    InvalidArgumentError,
    InvalidFileError,
    LibraryNotFoundError,
    NonFiniteError,
    ScoreError,
    ScoreIOError,
    StateError,
    VersionMismatchError,
)
from .log import set_log_callback
from .policy import Policy
from .trainer import Trainer, combine_step_stats
from .types import (
    Correction,
    EvalResult,
    LogLevel,
    Phase,
    PolicyInfo,
    SFTExample,
    Stage,
    StepStats,
    VerifyItem,
)

__version__ = "0.3.0"


def version() -> str:
    """The loaded library's version string, "MAJOR.MINOR.PATCH"."""
    text: bytes = library().score_version_string()
    return text.decode()


def version_number() -> int:
    """The loaded library's version as MAJOR * 10000 + MINOR * 100 + PATCH."""
    number: int = library().score_version_number()
    return number


__all__ = [
    "Abort", "AbortedError", "BufferTooSmallError", "CallbackError", "Correction", "EvalResult",
    "EXPECTED_VERSION", "InternalError", "InvalidArgumentError", "InvalidFileError",
    "LibraryNotFoundError", "LogLevel", "NonFiniteError", "Phase", "Policy", "PolicyInfo",
    "SFTExample", "ScoreError", "ScoreIOError", "Stage", "StateError", "StepStats", "Trainer",
    "VerifyItem", "VersionMismatchError", "combine_step_stats", "set_log_callback", "version",
    "version_number",
]
