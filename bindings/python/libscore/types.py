"""The values the bindings return and the callbacks receive, and the named codes of score.h."""

import enum
from dataclasses import dataclass
from typing import List, Optional


class Stage(enum.IntEnum):
    """The objective a training step optimises (SCORE_STAGE_*)."""

    STAGE_I = 1
    STAGE_II = 2
    SINGLE_TURN = 3


class Phase(enum.IntEnum):
    """What a progress callback reports (SCORE_PHASE_*)."""

    ROLLOUT = 0
    VERIFY = 1
    BACKWARD = 2
    EVALUATE = 3


class LogLevel(enum.IntEnum):
    """Levels of the log callback (SCORE_LOG_*)."""

    DEBUG = 0
    INFO = 1
    WARN = 2
    ERROR = 3


@dataclass(frozen=True)
class PolicyInfo:
    """What :attr:`Policy.info` describes."""

    vocab_size: int
    tokenizer_size: int
    max_seq_len: int
    threads: int
    parameter_count: int


@dataclass(frozen=True)
class Correction:
    """The attempts of one self-correction (:meth:`Policy.self_correct`).

    ``attempt2`` is None and ``tokens2``/``logprobs2`` are empty when ``revised`` is False.
    ``attempts`` lists the text of every attempt made (``final_text`` is the last). Token lists
    include attempt's closing token; ``logprobs`` hold one log-prob per token.
    """

    attempt1: str
    attempt2: Optional[str]
    final_text: str
    tokens1: List[int]
    logprobs1: List[float]
    tokens2: List[int]
    logprobs2: List[float]
    confidence: float
    revised: bool
    attempts: List[str]


@dataclass(frozen=True)
class VerifyItem:
    """One attempt handed to a verifier: the prompt and reference as given, the attempt's text.

    ``turn`` is the attempt's number (1, 2, or more when training on more attempts);
    ``first_attempt`` holds attempt 1's text from turn 2 on, else None.
    """

    prompt: str
    response: str
    reference: str
    turn: int
    first_attempt: Optional[str]


@dataclass(frozen=True)
class SFTExample:
    """A supervised example for :meth:`Trainer.sft_step`.

    With ``attempt2`` None it is single-turn (prompt, answer); otherwise a two-attempt exchange
    in which only attempt 2 is learned (attempt 1 is context), as Pair-SFT builds its data.
    """

    prompt: str
    attempt1: str
    attempt2: Optional[str] = None


@dataclass(frozen=True)
class StepStats:
    """What one training step measured (score_step_stats); ``*_pct`` fields are percentages."""

    step: int
    stage: Stage
    episodes: int
    acc_t1_pct: float
    acc_t2_pct: float
    delta_pct: float
    delta_i_to_c_pct: float
    delta_c_to_i_pct: float
    changed_pct: float
    edit_distance_ratio: float
    reward_mean_t1: float
    reward_std_t1: float
    reward_mean_t2: float
    reward_std_t2: float
    zero_variance_groups_pct: float
    mean_length_t1: float
    mean_length_t2: float
    truncated_t1_pct: float
    truncated_t2_pct: float
    loss: float
    kl_t1: float
    kl_t2: float
    entropy: float
    grad_norm: float
    learning_rate: float
    seconds: float
    rollout_seconds: float
    tokens_per_second: float


@dataclass(frozen=True)
class EvalResult:
    """A two-attempt evaluation (score_eval_result); ``*_pct`` fields are percentages."""

    count: int
    acc_t1_pct: float
    acc_t2_pct: float
    delta_pct: float
    delta_i_to_c_pct: float
    delta_c_to_i_pct: float
    changed_pct: float
    edit_distance_ratio: float
    fix_rate_pct: float
    break_rate_pct: float
