"""Trainer: SCoRe (and supervised steps) on a Policy, scored by a verifier."""

from __future__ import annotations

import ctypes
import math
from array import array
from collections.abc import Iterable, Mapping, Sequence
from ctypes import POINTER, byref, c_double, c_float, c_int32, c_int64, c_size_t, c_uint64, c_void_p
from typing import Any, Callable, Optional, Tuple, Type, TypeVar, Union

from . import _callbacks, _convert, _structs
from ._handle import Closable, Handle, serialized
from ._library import check, library
from .policy import Policy
from .types import EvalResult, SFTExample, Stage, StepStats

#: A keyword option of ``Trainer()``: a number, a bool, a name, or names (``lora_targets``).
OptionValue = Union[int, float, bool, str, Sequence[str], None]
#: An SFT example as :meth:`Trainer.sft_step` takes it.
Example = Union[SFTExample, Tuple[str, str], Tuple[str, str, Optional[str]]]
#: score_trainer_step or score_trainer_compute_gradients.
_StepFunction = Callable[[c_void_p, Any, Any, int, Any], int]

_Trainer = TypeVar("_Trainer", bound="Trainer")

PLANS = {"score": 0, "single_turn": 1}
SHAPINGS = {"progress": 0, "flip": 1, "none": 2}
KL_ESTIMATORS = {"k1": 1, "k2": 2, "k3": 3, "k1_in_reward": 4}
BASELINES = {"leave_one_out": 0, "batch_mean": 1, "none": 2}
BUILTIN_VERIFIERS = {"exact_match": 0, "final_answer": 1, "arithmetic": 2}
EVAL_PROTOCOLS = {"greedy": 0, "mixed": 1}


LORA_TARGETS = {"q": 1, "k": 2, "v": 4, "o": 8, "gate": 16, "up": 32, "down": 64}


def _lora_targets(value: object, name: str) -> int:
    """SCORE_LORA_* bits from names ("q", "q_proj", ...), "all", or the bits themselves."""
    if isinstance(value, int) and not isinstance(value, bool):
        return _convert.integer(value, name, 0, 0x7F)
    if not isinstance(value, Iterable):
        raise TypeError(f"{name} must be names or SCORE_LORA_* bits, not {type(value).__name__}")
    names = [value] if isinstance(value, str) else list(value)
    bits = 0
    for entry in names:
        if not isinstance(entry, str):
            raise TypeError(f"{name} entries must be strings, not {type(entry).__name__}")
        if entry == "all":
            return 0
        short = entry.split(".")[-1].removesuffix("_proj")
        if short not in LORA_TARGETS:
            raise ValueError(f"{name}: {entry!r} is not one of {', '.join(LORA_TARGETS)} (or all)")
        bits |= LORA_TARGETS[short]
    if bits == 0:
        raise ValueError(f"{name} is empty")
    return bits


def _named(names: Mapping[str, int]) -> _convert.Converter:
    return lambda value, name: _convert.choice(value, names, name)


_OPTION_FIELDS = dict(
    _convert.field_converters(_structs.TrainerOptions),
    plan=_named(PLANS),
    shaping=_named(SHAPINGS),
    kl_estimator=_named(KL_ESTIMATORS),
    baseline=_named(BASELINES),
    lora_targets=_lora_targets,
)


def _step_stats(stats: _structs.StepStats) -> StepStats:
    values = {name: getattr(stats, name) for name in _structs.STEP_STATS_VALUES}
    return StepStats(step=stats.step, stage=_convert.named(Stage, stats.stage), episodes=stats.episodes, **values)


def _float_view(floats: ctypes.Array[c_float]) -> Union[_convert.FloatArray, memoryview[float]]:
    """A view of a library buffer without a copy: a float32 numpy array when numpy is installed,
    else a memoryview of floats."""
    numpy = _convert.numpy_module()
    if numpy is not None:
        view: _convert.FloatArray = numpy.frombuffer(floats, numpy.float32)
        return view
    return memoryview(floats).cast("B").cast("f")


def combine_step_stats(parts: Sequence[StepStats]) -> StepStats:
    """One step's :class:`StepStats` from those of its parts, each over its own episodes (one per
    data-parallel replica): rates and means weighted by episodes, reward deviations pooled, the
    slowest part's seconds, throughputs summed (score_step_stats_combine). Raises
    :class:`InvalidArgumentError` when the parts are not one step (step or stage differ)."""
    items = list(parts)
    structs = (_structs.StepStats * len(items))()
    for i, part in enumerate(items):
        if not isinstance(part, StepStats):
            raise TypeError(f"parts[{i}] must be a StepStats, not {type(part).__name__}")
        structs[i] = _structs.new(_structs.StepStats)
        for name in ("step", "episodes", *_structs.STEP_STATS_VALUES):
            setattr(structs[i], name, getattr(part, name))
        structs[i].stage = part.stage.value
    out = _structs.new(_structs.StepStats)
    check(library().score_step_stats_combine(structs, len(items), byref(out)))
    return _step_stats(out)


def _sft_example(example: object, index: int) -> Tuple[bytes, bytes, Optional[bytes]]:
    if isinstance(example, SFTExample):
        fields = (example.prompt, example.attempt1, example.attempt2)
    elif isinstance(example, tuple) and len(example) in (2, 3):
        fields = example + (None,) * (3 - len(example))
    else:
        raise TypeError(f"examples[{index}] must be an SFTExample or a (prompt, attempt1[, attempt2]) "
                        f"tuple, not {type(example).__name__}")
    prompt, attempt1, attempt2 = fields
    return (_convert.text(prompt, f"examples[{index}].prompt"),
            _convert.text(attempt1, f"examples[{index}].attempt1"),
            _convert.optional_text(attempt2, f"examples[{index}].attempt2"))


class Trainer(Closable):
    """SCoRe training of ``policy``, which it updates in place.

    Keyword options mirror ``score_trainer_options`` (unset ones keep the library's defaults):
    ``plan`` ("score" | "single_turn"), ``stage_i_steps``, ``stage_ii_steps``, ``rounds``,
    ``single_turn_steps``, ``beta1``, ``beta2``, ``alpha``, ``shaping`` ("progress" | "flip" |
    "none"), ``kl_estimator`` ("k1" | "k2" | "k3" | "k1_in_reward"), ``baseline`` ("leave_one_out" | "batch_mean" |
    "none"), ``turn2_state_baseline``, ``learning_rate``, ``weight_decay``, ``grad_clip``, ``samples_per_prompt``,
    ``temperature``, ``first_temperature``, ``max_new_tokens``, ``seed``, ``micro_batch`` (episodes
    forwarded at once; -1, the default, = chosen from ``memory_budget``), ``memory_budget`` (bytes for activations
    and rollout caches), ``lora_rank`` (> 0 trains LoRA adapters on the frozen policy; the reference
    is then the base with adapters off), ``lora_alpha`` (default 2 x rank), ``lora_targets`` (names
    among "q", "k", "v", "o", "gate", "up", "down", default all), ``second_attempts`` (second attempts per first
    attempt; from 2 on the turn-2 baseline is per first attempt), ``attempts`` (attempts per training
    episode, 2 to 16, default 2; the step's "t2" statistics are the last attempt's),
    ``stage_i_holds_first_only`` (with more than two attempts, Stage I holds attempt 1 alone near the
    reference and rewards every later attempt).

    The trainer holds its policy (:attr:`policy`); close the trainer before the policy (closing
    the policy closes its trainers). Until :meth:`set_verifier` or :meth:`use_builtin_verifier`,
    attempts are scored by the built-in "final_answer" verifier.
    """

    def __init__(self, policy: Policy, **options: OptionValue) -> None:
        if not isinstance(policy, Policy):
            raise TypeError(f"policy must be a Policy, not {type(policy).__name__}")
        lib = library()
        trainer_options = _structs.new(_structs.TrainerOptions)
        lib.score_trainer_options_init(byref(trainer_options))
        _convert.set_fields(trainer_options, options, _OPTION_FIELDS, "Trainer()")
        pointer = c_void_p()
        check(lib.score_trainer_create(policy._pointer(), byref(trainer_options), byref(pointer)))
        self._adopt(policy, pointer)

    def _adopt(self, policy: Policy, pointer: c_void_p) -> None:
        self._lock = policy._lock
        self._policy = policy
        self._handle = Handle(pointer.value, library().score_trainer_free)
        policy._trainer_handles.add(self._handle)
        self._errors = _callbacks.CallbackErrors()
        self._verifier: Optional[_callbacks.Verifier] = None
        self._progress: Optional[_callbacks.Progress] = None

    @classmethod
    def resume(cls: Type[_Trainer], policy: Policy, path: _convert.StrPath) -> _Trainer:
        """Continues a run saved by :meth:`save`: loads the saved weights into ``policy`` (same
        shape) and returns a new trainer. Verifier and progress callbacks are not saved: set them
        again."""
        if not isinstance(policy, Policy):
            raise TypeError(f"policy must be a Policy, not {type(policy).__name__}")
        encoded = _convert.path(path)
        pointer = c_void_p()
        check(library().score_trainer_resume(policy._pointer(), encoded, byref(pointer)))
        trainer = cls.__new__(cls)
        trainer._adopt(policy, pointer)
        return trainer

    @property
    def policy(self) -> Policy:
        """The policy this trainer updates."""
        return self._policy

    def _pointer(self) -> c_void_p:
        return self._handle.get("trainer")

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran (or the policy was closed)."""
        return self._handle.closed

    @serialized
    def close(self) -> None:
        """Frees the trainer (not its policy). Safe to call twice."""
        self._handle.free()
        self._policy._trainer_handles.discard(self._handle)

    # Verifiers and progress

    @serialized
    def set_verifier(self, verifier: _callbacks.Verifier) -> None:
        """Scores attempts with ``verifier(items) -> rewards``: ``items`` is a list of
        :class:`VerifyItem`, the result one float per item (1 correct, 0 wrong; >= 0.5 counts
        as correct). An exception it raises ends the step (nothing changes) and is re-raised by
        the call; raising :class:`Abort` makes the call fail with :class:`AbortedError`."""
        if not callable(verifier):
            raise TypeError(f"verifier must be callable, not {type(verifier).__name__}")
        callback = _callbacks.verifier(verifier, self._errors)
        check(library().score_trainer_set_verifier(self._pointer(), callback, None))
        # Only once the library holds the new one: a refused call keeps the running verifier alive.
        self._handle.callbacks["verifier"] = callback
        self._verifier = verifier

    @serialized
    def use_builtin_verifier(self, name: str) -> None:
        """Scores attempts with a built-in verifier: "exact_match", "final_answer" or "arithmetic"."""
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, not {type(name).__name__}")
        kind = _convert.choice(name, BUILTIN_VERIFIERS, "name")
        check(library().score_trainer_set_builtin_verifier(self._pointer(), kind))
        self._handle.callbacks.pop("verifier", None)
        self._verifier = None

    @property
    def verifier(self) -> Optional[_callbacks.Verifier]:
        """The Python verifier in use, or None for a built-in one."""
        return self._verifier

    @serialized
    def set_progress(self, progress: Optional[_callbacks.Progress]) -> None:
        """Calls ``progress(phase, done, total)`` during steps and evaluations (None: no calls).

        ``phase`` is a :class:`Phase`. Returning False or raising :class:`Abort` stops the call
        with :class:`AbortedError`; any other exception stops it and is re-raised.
        """
        if progress is not None and not callable(progress):
            raise TypeError(f"progress must be callable or None, not {type(progress).__name__}")
        callback = _structs.PROGRESS_FN() if progress is None else _callbacks.progress(progress, self._errors)
        check(library().score_trainer_set_progress(self._pointer(), callback, None))
        if progress is None:
            self._handle.callbacks.pop("progress", None)
        else:
            self._handle.callbacks["progress"] = callback
        self._progress = progress

    @property
    def progress(self) -> Optional[_callbacks.Progress]:
        """The progress callback (settable; see :meth:`set_progress`)."""
        return self._progress

    @progress.setter
    def progress(self, progress: Optional[_callbacks.Progress]) -> None:
        self.set_progress(progress)

    # Training

    def _stats_call(self, function: _StepFunction, prompts: Sequence[str], references: Sequence[str]) -> StepStats:
        prompt_array, reference_array = _convert.prompts_and_references(prompts, references)
        pointer = self._pointer()
        stats = _structs.new(_structs.StepStats)
        self._errors.run(lambda: function(pointer, prompt_array, reference_array, len(prompt_array),
                                          byref(stats)), self._handle.callbacks)
        return _step_stats(stats)

    @serialized
    def step(self, prompts: Sequence[str], references: Sequence[str]) -> StepStats:
        """One SCoRe step over ``prompts`` (``references[i]`` goes to the verifier with prompt i):
        samples both attempts, scores them, applies one AdamW update. Returns :class:`StepStats`.
        On any failure (including the verifier's exception, re-raised here) nothing changes."""
        return self._stats_call(library().score_trainer_step, prompts, references)

    @serialized
    def compute_gradients(self, prompts: Sequence[str], references: Sequence[str]) -> StepStats:
        """The first half of :meth:`step`: fills the gradient buffer (:meth:`gradients`) without
        updating the weights. Returns the step's :class:`StepStats` (``grad_norm`` 0)."""
        return self._stats_call(library().score_trainer_compute_gradients, prompts, references)

    def _gradient_buffer(self) -> ctypes.Array[c_float]:
        """The library's gradient buffer as a ctypes array over its memory (no copy); the array
        keeps this trainer alive."""
        return self._flat_buffer(library().score_trainer_gradients)

    def _flat_buffer(self, function: Callable[..., int]) -> ctypes.Array[c_float]:
        """A flat float buffer of the library's (gradients or trained values) as a ctypes array
        over its memory (no copy); the array keeps this trainer alive."""
        data = POINTER(c_float)()
        count = c_size_t(0)
        check(function(self._pointer(), byref(data), byref(count)))
        if not data or count.value == 0:
            return (c_float * 0)()
        floats = (c_float * count.value).from_address(ctypes.addressof(data.contents))
        setattr(floats, "_trainer", self)  # noqa: B010 - a view must not outlive the trainer's memory
        return floats

    @serialized
    def gradients(self) -> Union[_convert.FloatArray, memoryview[float]]:
        """The trainer's flat gradient buffer itself, not a copy (one float per trained value, in
        checkpoint order): a float32 numpy array viewing the library's memory when numpy is
        installed, else a memoryview of floats over it. Between :meth:`compute_gradients` and
        :meth:`apply_gradients` it holds the step's gradients; what is written into it (the
        average across replicas, say) is what :meth:`apply_gradients` applies.

        The view is valid until the next trainer call that changes the buffer
        (:meth:`compute_gradients`, :meth:`apply_gradients`, :meth:`step`, :meth:`sft_step`,
        :meth:`reset_reference`; score.h promises it only until the next call on the trainer),
        and never after the trainer (or its policy) is closed: call ``gradients()`` again after
        such a call, and copy it (``list(view)``, or ``view.copy()`` for the numpy array) to keep
        values.
        """
        return _float_view(self._gradient_buffer())

    @serialized
    def set_gradients(self, values: Union[_convert.FloatArray, Sequence[float], memoryview[float]]) -> None:
        """Copies ``values`` (one float per trained value: a sequence, a numpy array or a buffer
        of floats) into the trainer's gradient buffer, e.g. gradients averaged across replicas
        before :meth:`apply_gradients`."""
        floats = self._gradient_buffer()
        if len(values) != len(floats):
            raise ValueError(f"set_gradients needs {len(floats)} values, got {len(values)}")
        numpy = _convert.numpy_module()
        if numpy is not None:
            source = numpy.ascontiguousarray(values, numpy.float32)
        else:
            source = values if isinstance(values, array) and values.typecode == "f" else array("f", values)
        memoryview(floats).cast("B")[:] = memoryview(source).cast("B")

    @serialized
    def parameters(self) -> Union[_convert.FloatArray, memoryview[float]]:
        """The trained values themselves, not a copy (every weight, or with LoRA the adapters, in
        the layout of :meth:`gradients`): a float32 numpy array viewing the policy's memory when
        numpy is installed, else a memoryview of floats. Writing into it changes the policy (a
        data-parallel replica receiving rank 0's values). Valid as long as :meth:`gradients`'
        views are."""
        return _float_view(self._flat_buffer(library().score_trainer_parameters))

    @serialized
    def checksum(self) -> int:
        """A 64-bit checksum of the trained values' bit patterns: equal on replicas that hold
        bit-identical values."""
        value = c_uint64(0)
        check(library().score_trainer_checksum(self._pointer(), byref(value)))
        return value.value

    @serialized
    def set_sampling_seed(self, seed: int) -> None:
        """Restarts prompt choice and sampling from ``seed`` (a replica's own stream, e.g. after
        every rank resumed rank 0's saved state); weights, optimizer and steps are kept."""
        check(library().score_trainer_set_sampling_seed(self._pointer(), _convert.seed(seed)))

    @serialized
    def apply_gradients(self) -> float:
        """The second half of :meth:`step`: clips the gradient buffer as it is now, applies AdamW
        and counts the step. Returns the gradient norm before clipping. Raises
        :class:`StateError` without pending gradients, :class:`NonFiniteError` for a NaN in them."""
        norm = c_double(0.0)
        check(library().score_trainer_apply_gradients(self._pointer(), byref(norm)))
        return norm.value

    def _progress_state(self) -> Tuple[int, int]:
        stage = c_int32(0)
        steps = c_int64(0)
        check(library().score_trainer_progress(self._pointer(), byref(stage), byref(steps)))
        return stage.value, steps.value

    @property
    @serialized
    def next_stage(self) -> Stage:
        """The :class:`Stage` the next step runs."""
        return _convert.named(Stage, self._progress_state()[0])

    @property
    @serialized
    def completed_steps(self) -> int:
        """The number of steps completed."""
        return self._progress_state()[1]

    @serialized
    def evaluate(self, prompts: Sequence[str], references: Sequence[str], protocol: str = "greedy",
                 seed: int = 0) -> EvalResult:
        """Two-attempt evaluation, one episode per prompt, scored by the trainer's verifier.

        ``protocol`` is "greedy" (both attempts greedy) or "mixed" (attempt 1 sampled at
        temperature 1, attempt 2 greedy). Changes no weights. Returns :class:`EvalResult`.
        """
        prompt_array, reference_array = _convert.prompts_and_references(prompts, references)
        if not isinstance(protocol, str):
            raise TypeError(f"protocol must be a str, not {type(protocol).__name__}")
        code = _convert.choice(protocol, EVAL_PROTOCOLS, "protocol")
        seed = _convert.seed(seed)
        pointer = self._pointer()
        result = _structs.new(_structs.EvalResult)
        self._errors.run(lambda: library().score_trainer_evaluate(
            pointer, prompt_array, reference_array, len(prompt_array), code, seed, byref(result)),
            self._handle.callbacks)
        values = {name: getattr(result, name) for name in _structs.EVAL_RESULT_VALUES}
        return EvalResult(count=result.count, **values)

    @serialized
    def sft_step(self, examples: Sequence[Example], learning_rate: float) -> float:
        """One supervised step over ``examples`` (:class:`SFTExample` or ``(prompt, attempt1)``
        / ``(prompt, attempt1, attempt2)`` tuples) at ``learning_rate``; returns the mean token
        loss. Call :meth:`reset_reference` before RL from the result."""
        if isinstance(examples, (str, bytes)) or not isinstance(examples, Sequence):
            raise TypeError(f"examples must be a list of SFTExample, not {type(examples).__name__}")
        if len(examples) == 0:
            raise ValueError("examples must not be empty")
        learning_rate = _convert.number(learning_rate, "learning_rate")
        if not math.isfinite(learning_rate) or learning_rate < 0:
            raise ValueError(f"learning_rate must be finite and >= 0, not {learning_rate}")
        rows = (_structs.SFTExample * len(examples))(
            *(_structs.SFTExample(*_sft_example(example, index)) for index, example in enumerate(examples)))
        loss = c_float(0.0)
        check(library().score_trainer_sft_step(self._pointer(), rows, len(examples), learning_rate,
                                               byref(loss)))
        return loss.value

    @serialized
    def reset_reference(self) -> None:
        """Makes the KL reference a copy of the policy as it is now and clears the optimizer."""
        check(library().score_trainer_reset_reference(self._pointer()))

    @serialized
    def save(self, path: _convert.StrPath) -> None:
        """Saves everything the run needs to continue exactly to the folder ``path``
        (see :meth:`resume`)."""
        check(library().score_trainer_save(self._pointer(), _convert.path(path)))
