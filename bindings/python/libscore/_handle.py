"""Ownership of one native handle: freed exactly once, by whoever closes it first."""

import functools
from ctypes import c_void_p


class Handle:
    """A live ``score_policy *`` or ``score_trainer *`` and the function that frees it."""

    def __init__(self, pointer, free):
        self.pointer = c_void_p(pointer)
        self._free = free

    @property
    def closed(self):
        """True once freed."""
        return self.pointer is None

    def get(self, what):
        """The pointer; ValueError when already freed."""
        if self.pointer is None:
            raise ValueError(f"the {what} is closed")
        return self.pointer

    def free(self):
        """Frees the handle; later calls do nothing."""
        pointer, self.pointer = self.pointer, None
        if pointer is not None:
            self._free(pointer)


class Closable:
    """Context-manager and finalizer behaviour for objects that own a handle: ``with`` checks the
    object is open and closes it on exit; garbage collection closes it too. Subclasses define
    ``close()`` and ``_pointer()``."""

    def __enter__(self):
        self._pointer()
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - nothing to do at interpreter shutdown
            pass


def serialized(method):
    """Runs ``method`` under the object's ``_lock``, which a policy shares with its trainers:
    the library releases the GIL during calls, and a native handle must not be used by two
    threads at once."""
    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)
    return locked
