"""Checking Python arguments and turning them into C values (before any call into the library)."""

from __future__ import annotations

import ctypes
import enum
import functools
import importlib
import os
from collections.abc import Sequence
from ctypes import c_char_p, c_int32
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Tuple, TypeVar, Union, cast, overload

if TYPE_CHECKING:  # numpy is optional: without it these types are Any
    import numpy  # type: ignore[import-not-found, unused-ignore]
    import numpy.typing  # type: ignore[import-not-found, unused-ignore]

    #: Logits and gradients as numpy gives them.
    FloatArray = numpy.typing.NDArray[numpy.float32]

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

#: A file-system path as the public functions accept it.
StrPath = Union[str, "os.PathLike[str]"]
#: Checks one option value and returns it as the C field takes it: ``converter(value, name)``.
Converter = Callable[[Any, str], Any]

_Enum = TypeVar("_Enum", bound=enum.IntEnum)


@functools.lru_cache(maxsize=None)
def numpy_module() -> Optional[ModuleType]:
    """numpy when it is importable (an optional dependency), else None."""
    try:
        return importlib.import_module("numpy")
    except ImportError:
        return None


def text(value: object, what: str) -> bytes:
    """``value`` (a str) as NUL-terminated UTF-8 bytes; TypeError/ValueError otherwise."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if "\0" in value:
        raise ValueError(f"{what} must not contain a NUL character")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(f"{what} is not encodable as UTF-8: {error}") from None


def optional_text(value: object, what: str) -> Optional[bytes]:
    """Like :func:`text`, but None stays None."""
    return None if value is None else text(value, what)


def path(value: object) -> bytes:
    """A file-system path (str or os.PathLike) as bytes for the library."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, not {type(value).__name__}")
    encoded = os.fsencode(value)
    if b"\0" in encoded:
        raise ValueError("path must not contain a NUL character")
    return encoded


def texts(values: object, what: str) -> ctypes.Array[c_char_p]:
    """A non-empty sequence of str as a ``const char *const *`` array (it keeps the bytes alive)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"{what} must be a list or tuple of str, not {type(values).__name__}")
    if len(values) == 0:
        raise ValueError(f"{what} must not be empty")
    encoded = [text(value, f"{what}[{index}]") for index, value in enumerate(values)]
    return (c_char_p * len(encoded))(*encoded)


def prompts_and_references(prompts: Sequence[str], references: Sequence[str]
                            ) -> Tuple[ctypes.Array[c_char_p], ctypes.Array[c_char_p]]:
    """Both arrays for a training or evaluation call, after checking they match one to one."""
    prompt_array = texts(prompts, "prompts")
    reference_array = texts(references, "references")
    if len(prompt_array) != len(reference_array):
        raise ValueError(
            f"prompts and references differ in length ({len(prompt_array)} vs {len(reference_array)})")
    return prompt_array, reference_array


def token_ids(values: object, what: str = "tokens") -> ctypes.Array[c_int32]:
    """A sequence of int token ids as an ``int32_t`` array."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"{what} must be a list or tuple of int, not {type(values).__name__}")
    for index, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, int):
            try:
                value = value.__index__()
            except (AttributeError, TypeError):
                raise TypeError(f"{what}[{index}] must be an int, not {type(value).__name__}") from None
        if not INT32_MIN <= value <= INT32_MAX:
            raise ValueError(f"{what}[{index}] = {value} is outside int32")
    return (c_int32 * len(values))(*(int(value) for value in values))


def integer(value: object, what: str, low: int = INT32_MIN, high: int = INT32_MAX) -> int:
    """An int argument in [low, high] (bool refused); int32 unless told otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{what} = {value} is outside [{low}, {high}]")
    return value


def seed(value: object, what: str = "seed") -> int:
    """A uint64 seed."""
    return integer(value, what, 0, 2**64 - 1)


def number(value: object, what: str) -> float:
    """A float argument (int accepted, bool refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a float, not {type(value).__name__}")
    return float(value)


def boolean(value: object, what: str) -> bool:
    """A bool argument."""
    if not isinstance(value, bool):
        raise TypeError(f"{what} must be a bool, not {type(value).__name__}")
    return value


def field_converters(struct_type: type[ctypes.Structure],
                     skip: Tuple[str, ...] = ("struct_size",)) -> Dict[str, Converter]:
    """A converter per field of ``struct_type``, chosen by its C type (see :func:`set_fields`);
    integers are range-checked, since ctypes would silently wrap them."""
    def ranged(bits: int, signed: bool) -> Converter:
        low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
        return lambda value, what: integer(value, what, low, high)

    by_type: Dict[Any, Converter] = {
        ctypes.c_float: number, ctypes.c_double: number, ctypes.c_bool: boolean,
        ctypes.c_int32: ranged(32, True), ctypes.c_uint32: ranged(32, False),
        ctypes.c_int64: ranged(64, True), ctypes.c_uint64: ranged(64, False),
    }
    return {name: by_type[c_type] for name, c_type, *_bits in struct_type._fields_
            if name not in skip and c_type in by_type}


def choice(value: object, names: Mapping[str, int], what: str) -> int:
    """An enum value given as one of ``names`` (a dict name -> code) or as the code itself."""
    if isinstance(value, str):
        try:
            return names[value]
        except KeyError:
            raise ValueError(f"{what} must be one of {', '.join(map(repr, names))}, not {value!r}") from None
    if isinstance(value, int) and not isinstance(value, bool):
        return integer(int(value), what)
    raise TypeError(f"{what} must be one of {', '.join(map(repr, names))}, not {type(value).__name__}")


def set_fields(struct: ctypes.Structure, values: Mapping[str, object], converters: Mapping[str, Converter],
               what: str) -> None:
    """Sets ``struct`` fields from keyword ``values`` (None keeps the library's default).

    ``converters`` maps each accepted field name to a function(value, name) -> C value.
    """
    for name, value in values.items():
        if name not in converters:
            raise TypeError(f"{what} got an unexpected option {name!r}")
        if value is not None:
            setattr(struct, name, converters[name](value, name))


@overload
def decoded(value: bytes) -> str: ...
@overload
def decoded(value: None) -> None: ...
@overload
def decoded(value: Optional[bytes]) -> Optional[str]: ...
def decoded(value: Optional[bytes]) -> Optional[str]:
    """Bytes the library returned as str (None stays None)."""
    return None if value is None else value.decode("utf-8", errors="replace")


def named(kind: type[_Enum], code: int) -> _Enum:
    """A code the library returned as a member of ``kind``; a code ``kind`` lacks stays a plain
    int (only a library of another major.minor could send one, and the version check refuses those)."""
    try:
        return kind(code)
    except ValueError:
        return cast(_Enum, code)


def array_to_list(pointer: Any, count: int) -> List[Any]:
    """The first ``count`` values behind a ctypes pointer as a list (empty when NULL)."""
    if not pointer or count == 0:
        return []
    return list(pointer[:count])
