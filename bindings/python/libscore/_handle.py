"""Ownership of one native handle: freed exactly once, by whoever closes it first."""

from __future__ import annotations

import functools
from ctypes import c_void_p
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, TypeVar, cast

if TYPE_CHECKING:
    from _ctypes import CFuncPtr

_Method = TypeVar("_Method", bound=Callable[..., Any])
_Self = TypeVar("_Self", bound="Closable")


class Handle:
    """A live ``score_policy *`` or ``score_trainer *``, the function that frees it, and the ctypes
    callbacks it holds."""

    def __init__(self, pointer: Optional[int], free: Callable[[c_void_p], None]) -> None:
        self.pointer: Optional[c_void_p] = c_void_p(pointer)
        self._free = free
        #: The ctypes callback set in each of the object's slots ("verifier", "progress"): kept
        #: while the library may call it, dropped when the slot is replaced or the handle freed.
        self.callbacks: Dict[str, CFuncPtr] = {}

    @property
    def closed(self) -> bool:
        """True once freed."""
        return self.pointer is None

    def get(self, what: str) -> c_void_p:
        """The pointer; ValueError when already freed."""
        if self.pointer is None:
            raise ValueError(f"the {what} is closed")
        return self.pointer

    def free(self) -> None:
        """Frees the handle; later calls do nothing."""
        pointer, self.pointer = self.pointer, None
        if pointer is not None:
            self._free(pointer)
            self.callbacks.clear()


class Closable:
    """Context-manager and finalizer behaviour for objects that own a handle: ``with`` checks the
    object is open and closes it on exit; garbage collection closes it too. Subclasses define
    ``close()`` and ``_pointer()``."""

    def close(self) -> None:
        """Frees the native object; safe to call twice."""
        raise NotImplementedError

    def _pointer(self) -> c_void_p:
        raise NotImplementedError

    def __enter__(self: _Self) -> _Self:
        self._pointer()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - nothing to do at interpreter shutdown
            pass


def serialized(method: _Method) -> _Method:
    """Runs ``method`` under the object's ``_lock``, which a policy shares with its trainers:
    the library releases the GIL during calls, and a native handle must not be used by two
    threads at once."""
    @functools.wraps(method)
    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)
    return cast(_Method, locked)
