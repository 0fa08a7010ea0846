"""numpy, an optional dependency: with it, logits are a float32 array and the gradients a numpy
view of the library's buffer; without it, logits are lists and the gradients a memoryview."""

import ctypes
import gc
import math

import pytest

import libscore
from libscore import _convert, _library
from conftest import FAST_TRAINING, PROMPTS, REFERENCES, TINY, make_policy, varied_rewards


@pytest.fixture
def without_numpy(monkeypatch):
    """The bindings behave as if numpy were not installed."""
    monkeypatch.setattr(_convert, "numpy_module", lambda: None)


def library_gradients(trainer):
    """(address, count) of the gradient buffer, asked of the library directly."""
    data, count = ctypes.POINTER(ctypes.c_float)(), ctypes.c_size_t()
    status = _library.library().score_trainer_gradients(trainer._pointer(), ctypes.byref(data), ctypes.byref(count))
    assert status == 0
    return ctypes.cast(data, ctypes.c_void_p).value, count.value


def address(view):
    """Where a writable buffer's first float lives."""
    return ctypes.addressof(ctypes.c_float.from_buffer(view))


def halve_and_norm(view):
    """Halves every gradient in place; returns the norm of the result."""
    for index in range(len(view)):
        view[index] = view[index] / 2
    return math.sqrt(math.fsum(float(value) ** 2 for value in view))


def test_logits_are_a_float32_array_shaped_as_the_data(policy, monkeypatch):
    numpy = pytest.importorskip("numpy")
    ids = policy.tokenize("12+34=")
    rows = policy.logits(ids)
    assert isinstance(rows, numpy.ndarray)
    assert rows.dtype == numpy.float32 and rows.shape == (len(ids), TINY["vocab_size"])
    monkeypatch.setattr(_convert, "numpy_module", lambda: None)
    assert rows.tolist() == policy.logits(ids)


def test_logits_without_numpy_are_lists(policy, without_numpy):
    ids = policy.tokenize("12+34=")
    rows = policy.logits(ids)
    assert type(rows) is list and len(rows) == len(ids)
    assert all(type(row) is list and len(row) == TINY["vocab_size"] for row in rows)
    assert all(type(value) is float and math.isfinite(value) for row in rows for value in row)


def test_gradients_are_a_numpy_view_of_the_library_buffer(trainer):
    numpy = pytest.importorskip("numpy")
    trainer.compute_gradients(PROMPTS, REFERENCES)
    view = trainer.gradients()
    pointer, count = library_gradients(trainer)
    assert isinstance(view, numpy.ndarray) and view.dtype == numpy.float32
    assert view.shape == (count,) and count == trainer.policy.info.parameter_count
    assert view.ctypes.data == pointer
    assert numpy.shares_memory(view, trainer.gradients())
    before = float(numpy.linalg.norm(view.astype(numpy.float64)))
    expected = halve_and_norm(view)
    assert expected == pytest.approx(before / 2, rel=1e-6) and expected > 0
    assert trainer.apply_gradients() == pytest.approx(expected, rel=1e-5)


def test_gradients_without_numpy_are_a_memoryview_of_the_library_buffer(trainer, without_numpy):
    trainer.compute_gradients(PROMPTS, REFERENCES)
    view = trainer.gradients()
    pointer, count = library_gradients(trainer)
    assert isinstance(view, memoryview) and view.format == "f" and len(view) == count
    assert address(view) == pointer
    expected = halve_and_norm(view)
    assert expected > 0
    assert trainer.apply_gradients() == pytest.approx(expected, rel=1e-5)
    trainer.compute_gradients(PROMPTS, REFERENCES)
    trainer.set_gradients([0.0] * count)
    assert not any(trainer.gradients())
    assert trainer.apply_gradients() == 0


def test_set_gradients_takes_a_numpy_array(trainer):
    numpy = pytest.importorskip("numpy")
    trainer.compute_gradients(PROMPTS, REFERENCES)
    count = len(trainer.gradients())
    with pytest.raises(ValueError, match=str(count)):
        trainer.set_gradients(numpy.zeros(count - 1, numpy.float32))
    values = numpy.full(count, 0.5, numpy.float64)
    trainer.set_gradients(values)
    assert numpy.array_equal(trainer.gradients(), values)
    assert trainer.apply_gradients() == pytest.approx(0.5 * math.sqrt(count), rel=1e-5)


@pytest.mark.parametrize("numpy_present", [True, False])
def test_a_gradient_view_keeps_its_trainer_open(monkeypatch, numpy_present):
    if numpy_present:
        pytest.importorskip("numpy")
    else:
        monkeypatch.setattr(_convert, "numpy_module", lambda: None)
    with make_policy() as policy:
        trainer = libscore.Trainer(policy, **FAST_TRAINING)
        trainer.set_verifier(varied_rewards)
        trainer.compute_gradients(PROMPTS, REFERENCES)
        view = trainer.gradients()
        del trainer
        gc.collect()
        assert len(policy._trainer_handles) == 1
        assert math.isfinite(sum(float(value) for value in view))
        del view
        gc.collect()
        assert not policy._trainer_handles
