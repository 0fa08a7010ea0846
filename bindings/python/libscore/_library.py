"""Finding and loading libscore.so, declaring its functions, checking its version and statuses."""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from ctypes import POINTER, c_bool, c_char_p, c_double, c_float, c_int32, c_int64, c_size_t, c_uint64, c_void_p
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from . import _structs as s
from .errors import OK, LibraryNotFoundError, VersionMismatchError, error_for_status

#: The library's major.minor these bindings are written against (SCORE_VERSION_MAJOR/MINOR).
EXPECTED_VERSION = (0, 3)

ENVIRONMENT_VARIABLE = "LIBSCORE_PATH"

if sys.platform == "darwin":
    LIBRARY_NAME = "libscore.dylib"
elif sys.platform == "win32":
    LIBRARY_NAME = "score.dll"
else:
    LIBRARY_NAME = "libscore.so"

_PACKAGE_DIR = Path(__file__).resolve().parent
_status = c_int32
_handle = c_void_p

# name: (result type, argument types)
_PROTOTYPES: Dict[str, Tuple[Any, List[Any]]] = {
    "score_version_string": (c_char_p, []),
    "score_version_number": (c_int32, []),
    "score_status_string": (c_char_p, [_status]),
    "score_last_error": (c_char_p, []),
    "score_free": (None, [c_void_p]),
    "score_set_log_callback": (_status, [s.LOG_FN, c_int32, c_void_p]),
    "score_model_config_init": (None, [POINTER(s.ModelConfig)]),
    "score_policy_options_init": (None, [POINTER(s.PolicyOptions)]),
    "score_chat_template_init": (None, [POINTER(s.ChatTemplate)]),
    "score_policy_create": (
        _status, [POINTER(s.ModelConfig), c_uint64, POINTER(s.PolicyOptions), POINTER(_handle)]),
    "score_policy_load": (_status, [c_char_p, POINTER(s.PolicyOptions), POINTER(_handle)]),
    "score_policy_save": (_status, [_handle, c_char_p]),
    "score_policy_save_adapter": (_status, [_handle, c_char_p]),
    "score_policy_load_adapter": (_status, [_handle, c_char_p]),
    "score_policy_merge_adapter": (_status, [_handle]),
    "score_policy_adapter_info": (_status, [_handle, POINTER(c_int32), POINTER(c_int64)]),
    "score_policy_free": (None, [_handle]),
    "score_policy_get_info": (_status, [_handle, POINTER(s.PolicyInfo)]),
    "score_tokenize": (_status, [_handle, c_char_p, POINTER(c_int32), c_size_t, POINTER(c_size_t)]),
    "score_detokenize": (_status, [_handle, POINTER(c_int32), c_size_t, POINTER(c_void_p)]),
    "score_policy_logits": (
        _status, [_handle, POINTER(c_int32), c_size_t, POINTER(c_float), c_size_t, POINTER(c_size_t)]),
    "score_sampling_options_init": (None, [POINTER(s.SamplingOptions)]),
    "score_generate": (_status, [_handle, c_char_p, POINTER(s.SamplingOptions), POINTER(c_void_p)]),
    "score_correct_options_init": (None, [POINTER(s.CorrectOptions)]),
    "score_self_correct": (
        _status, [_handle, c_char_p, POINTER(s.CorrectOptions), POINTER(POINTER(s.Correction))]),
    "score_correction_free": (None, [POINTER(s.Correction)]),
    "score_majority_vote": (
        _status, [_handle, c_char_p, c_int32, c_bool, POINTER(s.CorrectOptions), POINTER(c_void_p),
                  POINTER(c_int32)]),
    "score_trainer_options_init": (None, [POINTER(s.TrainerOptions)]),
    "score_trainer_create": (_status, [_handle, POINTER(s.TrainerOptions), POINTER(_handle)]),
    "score_trainer_free": (None, [_handle]),
    "score_trainer_set_verifier": (_status, [_handle, s.VERIFIER_FN, c_void_p]),
    "score_trainer_set_builtin_verifier": (_status, [_handle, c_int32]),
    "score_trainer_set_progress": (_status, [_handle, s.PROGRESS_FN, c_void_p]),
    "score_trainer_step": (
        _status, [_handle, POINTER(c_char_p), POINTER(c_char_p), c_size_t, POINTER(s.StepStats)]),
    "score_trainer_compute_gradients": (
        _status, [_handle, POINTER(c_char_p), POINTER(c_char_p), c_size_t, POINTER(s.StepStats)]),
    "score_trainer_gradients": (_status, [_handle, POINTER(POINTER(c_float)), POINTER(c_size_t)]),
    "score_trainer_apply_gradients": (_status, [_handle, POINTER(c_double)]),
    "score_trainer_parameters": (_status, [_handle, POINTER(POINTER(c_float)), POINTER(c_size_t)]),
    "score_trainer_checksum": (_status, [_handle, POINTER(c_uint64)]),
    "score_trainer_set_sampling_seed": (_status, [_handle, c_uint64]),
    "score_step_stats_combine": (
        _status, [POINTER(s.StepStats), c_size_t, POINTER(s.StepStats)]),
    "score_trainer_progress": (_status, [_handle, POINTER(c_int32), POINTER(c_int64)]),
    "score_trainer_evaluate": (
        _status,
        [_handle, POINTER(c_char_p), POINTER(c_char_p), c_size_t, c_int32, c_uint64,
         POINTER(s.EvalResult)]),
    "score_trainer_sft_step": (
        _status, [_handle, POINTER(s.SFTExample), c_size_t, c_float, POINTER(c_float)]),
    "score_trainer_reset_reference": (_status, [_handle]),
    "score_trainer_save": (_status, [_handle, c_char_p]),
    "score_trainer_resume": (_status, [_handle, c_char_p, POINTER(_handle)]),
}

_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None


def candidate_paths() -> List[Path]:
    """The places searched for the library, in order (see the package README)."""
    configured = os.environ.get(ENVIRONMENT_VARIABLE)
    if configured:
        path = Path(configured).expanduser()
        return [path / LIBRARY_NAME if path.is_dir() else path]
    candidates = [_PACKAGE_DIR / LIBRARY_NAME]
    for folder in _PACKAGE_DIR.parents:
        for configuration in ("release", "debug"):
            candidates.append(folder / ".build" / configuration / LIBRARY_NAME)
    return candidates


def _find() -> Path:
    candidates = candidate_paths()
    for path in candidates:
        if path.is_file():
            return path
    searched = "\n  ".join(str(path) for path in candidates)
    hint = (f"{ENVIRONMENT_VARIABLE} is set but names no library file"
            if os.environ.get(ENVIRONMENT_VARIABLE)
            else f"install the package with pip (pip install ./bindings/python), build it (make) or set {ENVIRONMENT_VARIABLE} "
                 "to the library file or its folder")
    raise LibraryNotFoundError(f"{LIBRARY_NAME} not found; {hint}. Searched:\n  {searched}")


def _declare(lib: ctypes.CDLL) -> None:
    for name, (result, arguments) in _PROTOTYPES.items():
        try:
            function = getattr(lib, name)
        except AttributeError:
            raise VersionMismatchError(
                f"the loaded libscore lacks {name}(); it is older than these bindings") from None
        function.restype = result
        function.argtypes = arguments


def _check_version(lib: ctypes.CDLL, path: Path) -> None:
    number = lib.score_version_number()
    found = (number // 10000, number // 100 % 100)
    if found != EXPECTED_VERSION:
        raise VersionMismatchError(
            f"{path} is libscore {lib.score_version_string().decode()}, but these bindings need "
            f"{EXPECTED_VERSION[0]}.{EXPECTED_VERSION[1]}.x")


def library() -> ctypes.CDLL:
    """The loaded library (found, loaded and checked on first use)."""
    global _lib
    if _lib is None:
        with _lock:
            if _lib is None:
                path = _find()
                try:
                    lib = ctypes.CDLL(str(path))
                except OSError as error:
                    raise LibraryNotFoundError(f"cannot load {path}: {error}") from error
                lib.score_version_number.restype = c_int32
                lib.score_version_number.argtypes = []
                lib.score_version_string.restype = c_char_p
                lib.score_version_string.argtypes = []
                _check_version(lib, path)
                _declare(lib)
                from . import log  # (log imports this module, so not at the top)
                log.install(lib)
                _lib = lib
    return _lib


def last_error() -> str:
    """score_last_error() as text."""
    message: bytes = library().score_last_error()
    return message.decode("utf-8", errors="replace")


def check(status: int) -> None:
    """Raises the ScoreError subclass for ``status`` (with score_last_error()) unless it is OK."""
    if status != OK:
        raise error_for_status(status, last_error())


def take_string(pointer: Optional[int]) -> str:
    """The text of a library-owned ``char *`` returned through ``char **``, which it then frees
    ("" for NULL, which a successful call never returns)."""
    if not pointer:
        return ""
    try:
        return ctypes.string_at(pointer).decode("utf-8", errors="replace")
    finally:
        library().score_free(pointer)
