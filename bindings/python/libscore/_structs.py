"""ctypes mirrors of the structs and callback types of score.h.

Every layout follows the header field by field (order and C type); ``tests/test_layout.py``
checks them against the header text.
"""

from __future__ import annotations

import ctypes
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_bool,
    c_char_p,
    c_double,
    c_float,
    c_int32,
    c_int64,
    c_size_t,
    c_uint32,
    c_uint64,
    c_void_p,
)
from typing import TypeVar


class ModelConfig(Structure):
    """score_model_config."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("vocab_size", c_int32),
        ("hidden_size", c_int32),
        ("num_layers", c_int32),
        ("num_heads", c_int32),
        ("num_kv_heads", c_int32),
        ("intermediate_size", c_int32),
        ("max_seq_len", c_int32),
        ("head_dim", c_int32),
        ("rope_theta", c_float),
        ("norm_eps", c_float),
        ("tie_embeddings", c_bool),
        ("qkv_bias", c_bool),
    ]


class ChatTemplate(Structure):
    """score_chat_template."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("conversation_start", c_char_p),
        ("user_prefix", c_char_p),
        ("user_suffix", c_char_p),
        ("assistant_prefix", c_char_p),
        ("end_of_turn", c_char_p),
        ("after_assistant", c_char_p),
        ("trim_messages", c_bool),
    ]


class PolicyOptions(Structure):
    """score_policy_options."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("threads", c_int32),
        ("instruction", c_char_p),
        ("chat_template", POINTER(ChatTemplate)),
        ("template_date", c_char_p),
    ]


class PolicyInfo(Structure):
    """score_policy_info."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("vocab_size", c_int32),
        ("tokenizer_size", c_int32),
        ("max_seq_len", c_int32),
        ("threads", c_int32),
        ("parameter_count", c_int64),
    ]


class SamplingOptions(Structure):
    """score_sampling_options."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("temperature", c_float),
        ("top_k", c_int32),
        ("top_p", c_float),
        ("min_p", c_float),
        ("max_new_tokens", c_int32),
        ("seed", c_uint64),
    ]


class CorrectOptions(Structure):
    """score_correct_options."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("temperature", c_float),
        ("max_new_tokens", c_int32),
        ("seed", c_uint64),
        ("gated", c_bool),
        ("gate_threshold", c_float),
        ("confidence", c_int32),
        ("attempts", c_int32),
    ]


class Correction(Structure):
    """score_correction (owned by the library)."""

    _fields_ = [
        ("attempt1", c_char_p),
        ("attempt2", c_char_p),
        ("final_text", c_char_p),
        ("tokens1", POINTER(c_int32)),
        ("logprobs1", POINTER(c_float)),
        ("count1", c_size_t),
        ("tokens2", POINTER(c_int32)),
        ("logprobs2", POINTER(c_float)),
        ("count2", c_size_t),
        ("confidence", c_float),
        ("revised", c_bool),
        ("attempt_count", c_int32),
        ("attempts", POINTER(c_char_p)),
    ]


class VerifyItem(Structure):
    """score_verify_item (valid during the verifier call only)."""

    _fields_ = [
        ("prompt", c_char_p),
        ("response", c_char_p),
        ("reference", c_char_p),
        ("turn", c_int32),
        ("first_attempt", c_char_p),
    ]


class TrainerOptions(Structure):
    """score_trainer_options."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("plan", c_int32),
        ("stage_i_steps", c_int32),
        ("stage_ii_steps", c_int32),
        ("rounds", c_int32),
        ("single_turn_steps", c_int32),
        ("beta1", c_float),
        ("beta2", c_float),
        ("alpha", c_float),
        ("shaping", c_int32),
        ("kl_estimator", c_int32),
        ("baseline", c_int32),
        ("turn2_state_baseline", c_bool),
        ("learning_rate", c_float),
        ("weight_decay", c_float),
        ("grad_clip", c_float),
        ("samples_per_prompt", c_int32),
        ("temperature", c_float),
        ("first_temperature", c_float),
        ("max_new_tokens", c_int32),
        ("seed", c_uint64),
        ("micro_batch", c_int32),
        ("memory_budget", c_uint64),
        ("lora_rank", c_int32),
        ("lora_alpha", c_float),
        ("lora_targets", c_uint32),
        ("second_attempts", c_int32),
        ("attempts", c_int32),
        ("stage_i_holds_first_only", c_bool),
    ]


STEP_STATS_VALUES = (
    "acc_t1_pct", "acc_t2_pct", "delta_pct",
    "delta_i_to_c_pct", "delta_c_to_i_pct",
    "changed_pct",
    "edit_distance_ratio",
    "reward_mean_t1", "reward_std_t1", "reward_mean_t2", "reward_std_t2",
    "zero_variance_groups_pct",
    "mean_length_t1", "mean_length_t2",
    "truncated_t1_pct", "truncated_t2_pct",
    "loss", "kl_t1", "kl_t2", "entropy",
    "grad_norm",
    "learning_rate",
    "seconds", "rollout_seconds", "tokens_per_second",
)


class StepStats(Structure):
    """score_step_stats."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("step", c_int64),
        ("stage", c_int32),
        ("episodes", c_int32),
    ] + [(name, c_double) for name in STEP_STATS_VALUES]


EVAL_RESULT_VALUES = (
    "acc_t1_pct", "acc_t2_pct", "delta_pct", "delta_i_to_c_pct", "delta_c_to_i_pct",
    "changed_pct", "edit_distance_ratio", "fix_rate_pct", "break_rate_pct",
)


class EvalResult(Structure):
    """score_eval_result."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("count", c_int64),
    ] + [(name, c_double) for name in EVAL_RESULT_VALUES]


class SFTExample(Structure):
    """score_sft_example."""

    _fields_ = [
        ("prompt", c_char_p),
        ("attempt1", c_char_p),
        ("attempt2", c_char_p),
    ]


LOG_FN = CFUNCTYPE(None, c_int32, c_char_p, c_void_p)
VERIFIER_FN = CFUNCTYPE(c_int32, POINTER(VerifyItem), c_size_t, POINTER(c_float), c_void_p)
PROGRESS_FN = CFUNCTYPE(c_int32, c_int32, c_size_t, c_size_t, c_void_p)


_Struct = TypeVar("_Struct", bound=Structure)


def new(struct_type: type[_Struct]) -> _Struct:
    """A zeroed instance of ``struct_type`` with ``struct_size`` set."""
    value = struct_type()
    value.struct_size = ctypes.sizeof(struct_type)
    return value
