"""Policy: a model, its tokenizer and the two-attempt format."""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Mapping, Sequence
from ctypes import POINTER, byref, c_float, c_int32, c_int64, c_size_t, c_void_p
from ctypes import pointer as pointer_to
from typing import Any, Callable, Dict, List, Optional, Set, Tuple, Type, TypeVar, Union

from . import _convert, _structs
from ._handle import Closable, Handle, serialized
from ._library import check, library, take_string
from .errors import ERR_BUFFER_TOO_SMALL
from .types import Correction, PolicyInfo

#: A value of a ``score_model_config`` field (``Policy(config)``).
ConfigValue = Union[int, float, bool]
#: A ``chat_template`` field: a string, or a bool for ``trim_messages``.
ChatTemplateValue = Union[str, bool, None]

_CType = TypeVar("_CType", c_float, c_int32)
_Policy = TypeVar("_Policy", bound="Policy")

CONFIDENCE_MEASURES = {
    "mean_probability": 0,
    "minimum_probability": 1,
    "sequence_probability": 2,
}

_CONFIG_FIELDS = _convert.field_converters(_structs.ModelConfig)
_SAMPLING_FIELDS = _convert.field_converters(_structs.SamplingOptions)
_CORRECT_FIELDS = dict(
    _convert.field_converters(_structs.CorrectOptions),
    confidence=lambda value, name: _convert.choice(value, CONFIDENCE_MEASURES, name),
)


_CHAT_TEMPLATE_KEYS = ("conversation_start", "user_prefix", "user_suffix", "assistant_prefix", "end_of_turn",
                       "after_assistant", "trim_messages")


def _chat_template(layout: object) -> _structs.ChatTemplate:
    """A score_chat_template from a mapping of its field names (strings, and trim_messages)."""
    if not isinstance(layout, Mapping):
        raise TypeError(f"chat_template must be a mapping of field names, not {type(layout).__name__}")
    unknown = sorted(set(layout) - set(_CHAT_TEMPLATE_KEYS))
    if unknown:
        raise ValueError(f"chat_template: unknown fields {unknown} (known: {', '.join(_CHAT_TEMPLATE_KEYS)})")
    template = _structs.new(_structs.ChatTemplate)
    library().score_chat_template_init(byref(template))
    for name in _CHAT_TEMPLATE_KEYS[:-1]:
        setattr(template, name, _convert.optional_text(layout.get(name), f"chat_template.{name}"))
    template.trim_messages = _convert.boolean(layout.get("trim_messages", False), "chat_template.trim_messages")
    return template


def _policy_options(threads: Optional[int], instruction: Optional[str],
                    chat_template: Optional[Mapping[str, ChatTemplateValue]] = None,
                    template_date: Optional[str] = None) -> _structs.PolicyOptions:
    options = _structs.new(_structs.PolicyOptions)
    library().score_policy_options_init(byref(options))
    if threads is not None:
        options.threads = _convert.integer(threads, "threads")
    options.instruction = _convert.optional_text(instruction, "instruction")
    options.template_date = _convert.optional_text(template_date, "template_date")
    if chat_template is not None:
        options._template = _chat_template(chat_template)  # kept alive with the options
        options.chat_template = pointer_to(options._template)
    return options


def _filled(fill: Callable[[ctypes.Array[_CType], int, Any], int], c_type: Type[_CType],
            capacity: int) -> Tuple[ctypes.Array[_CType], int]:
    """Calls ``fill(buffer, capacity, byref(count))`` with a buffer of ``capacity`` values, again
    with the size the library asks for if that was too small; returns (buffer, count)."""
    count = c_size_t(0)
    while True:
        buffer = (c_type * max(capacity, 1))()
        status = fill(buffer, capacity, byref(count))
        if status == ERR_BUFFER_TOO_SMALL and count.value > capacity:
            capacity = count.value
            continue
        check(status)
        return buffer, count.value


class Policy(Closable):
    """A language model with its tokenizer and the two-attempt self-correction format.

    ``Policy(config, seed)`` makes a model with random weights: ``config`` maps
    ``score_model_config`` field names (``vocab_size``, ``hidden_size``, ``num_layers``,
    ``num_heads``, ``num_kv_heads``, ``intermediate_size``, ``max_seq_len``, ``head_dim``,
    ``rope_theta``, ``norm_eps``, ``tie_embeddings``, ``qkv_bias``) to values; fields left out keep
    the library's defaults (:meth:`default_config`). ``threads`` sets the kernel threads and
    ``instruction`` the text put between the attempts (None: the library's own).

    Use it as a context manager or call :meth:`close`; a policy is used by one thread at a time.
    """

    def __init__(self, config: Optional[Mapping[str, ConfigValue]] = None, seed: int = 0, *,
                 threads: Optional[int] = None, instruction: Optional[str] = None) -> None:
        if config is not None and not isinstance(config, Mapping):
            raise TypeError(f"config must be a mapping of field names, not {type(config).__name__}")
        seed = _convert.seed(seed)
        lib = library()
        model_config = _structs.new(_structs.ModelConfig)
        lib.score_model_config_init(byref(model_config))
        _convert.set_fields(model_config, dict(config or {}), _CONFIG_FIELDS, "config")
        options = _policy_options(threads, instruction)
        pointer = c_void_p()
        check(lib.score_policy_create(byref(model_config), seed, byref(options), byref(pointer)))
        self._adopt(pointer)

    def _adopt(self, pointer: c_void_p) -> None:
        self._lock = threading.RLock()
        self._handle = Handle(pointer.value, library().score_policy_free)
        self._trainer_handles: Set[Handle] = set()
        self._vocab_size: Optional[int] = None

    @classmethod
    def load(cls: Type[_Policy], path: _convert.StrPath, *, threads: Optional[int] = None,
             instruction: Optional[str] = None, chat_template: Optional[Mapping[str, ChatTemplateValue]] = None,
             template_date: Optional[str] = None) -> _Policy:
        """Loads a model folder: one :meth:`save` wrote, or a Hugging Face folder (Llama, Qwen2,
        Mistral; tokenizer.json and tokenizer_config.json give the tokenizer and chat template);
        or a GGUF file (a path ending in ``.gguf``: llama or qwen2, quantized types dequantized,
        its embedded tokenizer and chat template; :meth:`save` then writes a Hugging Face folder).

        ``chat_template`` replaces a template the library cannot lay out: a mapping with
        ``conversation_start``, ``user_prefix``, ``user_suffix``, ``assistant_prefix``,
        ``end_of_turn``, ``after_assistant`` (strings that may hold special-token names) and
        ``trim_messages``. ``template_date`` fixes the "Today Date" of Llama-3.x templates
        (e.g. "26 Jul 2024"; default: the template's own, today's date for Llama-3.2). Raises :class:`InvalidFileError` (or :class:`ScoreIOError`) for a
        missing, corrupt or unsupported folder.
        """
        encoded = _convert.path(path)
        options = _policy_options(threads, instruction, chat_template, template_date)
        pointer = c_void_p()
        check(library().score_policy_load(encoded, byref(options), byref(pointer)))
        policy = cls.__new__(cls)
        policy._adopt(pointer)
        return policy

    @staticmethod
    def default_config() -> Dict[str, ConfigValue]:
        """The library's default model config as a dict (the ``tiny`` shape)."""
        config = _structs.new(_structs.ModelConfig)
        library().score_model_config_init(byref(config))
        return {name: getattr(config, name) for name in _CONFIG_FIELDS}

    def _pointer(self) -> c_void_p:
        return self._handle.get("policy")

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._handle.closed

    @serialized
    def close(self) -> None:
        """Frees the policy, after closing any trainer still open over it. Safe to call twice."""
        for handle in list(self._trainer_handles):
            handle.free()
        self._trainer_handles.clear()
        self._handle.free()

    @serialized
    def save(self, path: _convert.StrPath) -> None:
        """Saves the weights and config to the folder ``path`` (created if needed)."""
        check(library().score_policy_save(self._pointer(), _convert.path(path)))

    @serialized
    def save_adapter(self, path: _convert.StrPath) -> None:
        """Writes the attached LoRA adapters as a PEFT folder ``path`` (``adapter_config.json`` and
        ``adapter_model.safetensors``, which ``peft.PeftModel.from_pretrained`` loads)."""
        check(library().score_policy_save_adapter(self._pointer(), _convert.path(path)))

    @serialized
    def load_adapter(self, path: _convert.StrPath) -> None:
        """Attaches the LoRA adapters of the PEFT folder ``path`` (replacing any attached)."""
        check(library().score_policy_load_adapter(self._pointer(), _convert.path(path)))

    @serialized
    def merge_adapter(self) -> None:
        """Adds the attached adapters into the weights and detaches them."""
        check(library().score_policy_merge_adapter(self._pointer()))

    @property
    @serialized
    def adapter_rank(self) -> int:
        """The attached LoRA adapters' rank, 0 when there are none."""
        rank, count = c_int32(), c_int64()
        check(library().score_policy_adapter_info(self._pointer(), byref(rank), byref(count)))
        return rank.value

    @property
    @serialized
    def info(self) -> PolicyInfo:
        """A :class:`PolicyInfo`: vocabulary and tokenizer sizes, context, threads, parameters."""
        info = _structs.new(_structs.PolicyInfo)
        check(library().score_policy_get_info(self._pointer(), byref(info)))
        return PolicyInfo(
            vocab_size=info.vocab_size,
            tokenizer_size=info.tokenizer_size,
            max_seq_len=info.max_seq_len,
            threads=info.threads,
            parameter_count=info.parameter_count,
        )

    @serialized
    def tokenize(self, text: str) -> List[int]:
        """The token ids of plain ``text`` (special-token names are not parsed)."""
        encoded = _convert.text(text, "text")
        pointer = self._pointer()
        buffer, count = _filled(
            lambda tokens, capacity, out: library().score_tokenize(pointer, encoded, tokens, capacity, out),
            c_int32, len(encoded) + 1)
        return buffer[:count]

    @serialized
    def detokenize(self, ids: Sequence[int]) -> str:
        """The text of token ``ids`` (bytes that are not valid UTF-8 become U+FFFD)."""
        tokens = _convert.token_ids(ids)
        text = c_void_p()
        check(library().score_detokenize(self._pointer(), tokens, len(tokens), byref(text)))
        return take_string(text.value)

    @serialized
    def logits(self, ids: Sequence[int]) -> Union[_convert.FloatArray, List[List[float]]]:
        """Next-token logits at every position of ``ids``: ``len(ids)`` rows of ``info.vocab_size``
        floats (row i scores the token after ``ids[: i + 1]``), as a float32 numpy array of that
        shape when numpy is installed, else as a list of rows, each a list of floats."""
        tokens = _convert.token_ids(ids)
        if len(tokens) == 0:
            raise ValueError("ids must hold at least one token")
        pointer = self._pointer()
        if self._vocab_size is None:
            self._vocab_size = self.info.vocab_size
        buffer, count = _filled(
            lambda out_logits, capacity, out: library().score_policy_logits(
                pointer, tokens, len(tokens), out_logits, capacity, out),
            c_float, len(tokens) * self._vocab_size)
        width = count // len(tokens)
        numpy = _convert.numpy_module()
        if numpy is not None:
            rows: _convert.FloatArray = numpy.frombuffer(buffer, numpy.float32, count).reshape(len(tokens), width)
            return rows
        flat = buffer[:count]
        return [flat[row * width:(row + 1) * width] for row in range(len(tokens))]

    @serialized
    def generate(self, prompt: str, *, temperature: Optional[float] = None, top_k: Optional[int] = None,
                 top_p: Optional[float] = None, min_p: Optional[float] = None,
                 max_new_tokens: Optional[int] = None, seed: Optional[int] = None) -> str:
        """One answer to ``prompt`` (the first attempt of the two-attempt format).

        Options left as None keep the library's defaults (greedy, 16 tokens, seed 0).
        """
        encoded = _convert.text(prompt, "prompt")
        options = _structs.new(_structs.SamplingOptions)
        library().score_sampling_options_init(byref(options))
        _convert.set_fields(options, dict(
            temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p,
            max_new_tokens=max_new_tokens, seed=seed), _SAMPLING_FIELDS, "generate()")
        text = c_void_p()
        check(library().score_generate(self._pointer(), encoded, byref(options), byref(text)))
        return take_string(text.value)

    @serialized
    def majority_vote(self, prompt: str, samples: int, *, self_correct: bool = True,
                      temperature: float = 1.0, max_new_tokens: Optional[int] = None,
                      seed: Optional[int] = None, attempts: Optional[int] = None) -> Tuple[Optional[str], int]:
        """Majority voting over ``samples`` sampled attempts of ``prompt``, each self-corrected to
        ``attempts`` attempts (default 2: once) when ``self_correct`` (score_majority_vote): returns
        the winning answer (the final-answer verifier's extraction; None when no sample had one)
        and its votes. At an equal budget of K attempts, compare ``samples=K, self_correct=False``
        with ``samples=K // N, attempts=N``."""
        encoded = _convert.text(prompt, "prompt")
        count = _convert.integer(samples, "samples", 1, 1024)
        if not isinstance(self_correct, bool):
            raise TypeError(f"self_correct must be a bool, not {type(self_correct).__name__}")
        options = _structs.new(_structs.CorrectOptions)
        library().score_correct_options_init(byref(options))
        _convert.set_fields(options, dict(temperature=temperature, max_new_tokens=max_new_tokens, seed=seed,
                                          attempts=attempts), _CORRECT_FIELDS, "majority_vote()")
        answer = c_void_p()
        votes = c_int32(0)
        check(library().score_majority_vote(self._pointer(), encoded, count, self_correct, byref(options),
                                            byref(answer), byref(votes)))
        return (take_string(answer.value) if answer.value else None), votes.value

    @serialized
    def self_correct(self, prompt: str, *, temperature: Optional[float] = None,
                     max_new_tokens: Optional[int] = None, seed: Optional[int] = None,
                     gated: Optional[bool] = None, gate_threshold: Optional[float] = None,
                     confidence: Optional[str] = None, attempts: Optional[int] = None) -> Correction:
        """Self-correction of ``prompt``; returns a :class:`Correction`.

        ``attempts`` (1 to 16, default 2) bounds the attempts: attempt k + 1 follows the
        instruction after attempt k over the whole conversation. With ``gated=True`` attempt k + 1
        is made only when attempt k's confidence is below ``gate_threshold``. ``confidence`` is
        "mean_probability" (default), "minimum_probability" or "sequence_probability". None keeps
        the library's defaults.
        """
        encoded = _convert.text(prompt, "prompt")
        options = _structs.new(_structs.CorrectOptions)
        library().score_correct_options_init(byref(options))
        _convert.set_fields(options, dict(
            temperature=temperature, max_new_tokens=max_new_tokens, seed=seed, gated=gated,
            gate_threshold=gate_threshold, confidence=confidence, attempts=attempts), _CORRECT_FIELDS,
            "self_correct()")
        result = POINTER(_structs.Correction)()
        check(library().score_self_correct(self._pointer(), encoded, byref(options), byref(result)))
        try:
            value = result.contents
            return Correction(
                attempt1=_convert.decoded(value.attempt1),
                attempt2=_convert.decoded(value.attempt2),
                final_text=_convert.decoded(value.final_text),
                tokens1=_convert.array_to_list(value.tokens1, value.count1),
                logprobs1=_convert.array_to_list(value.logprobs1, value.count1),
                tokens2=_convert.array_to_list(value.tokens2, value.count2),
                logprobs2=_convert.array_to_list(value.logprobs2, value.count2),
                confidence=value.confidence,
                revised=value.revised,
                attempts=[_convert.decoded(value.attempts[i]) or "" for i in range(value.attempt_count)],
            )
        finally:
            library().score_correction_free(result)
