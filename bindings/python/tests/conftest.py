"""Shared fixtures: a tiny model shape so every test runs in well under a second or two."""

import pytest

import libscore

TINY = {
    "vocab_size": 320,
    "hidden_size": 32,
    "num_layers": 2,
    "num_heads": 2,
    "num_kv_heads": 1,
    "intermediate_size": 64,
    "max_seq_len": 96,
}
# A custom self-correction instruction (short: the byte tokenizer spends a token per character).
INSTRUCTION = "Fix any error."
FAST_TRAINING = {"samples_per_prompt": 2, "max_new_tokens": 6, "learning_rate": 1e-2}
PROMPTS = ["12+34=", "7+8="]
REFERENCES = ["46", "15"]
PROBE = "12+34=46"


def make_policy(seed=1):
    """A tiny policy with random weights."""
    return libscore.Policy(TINY, seed=seed, threads=1, instruction=INSTRUCTION)


def varied_rewards(items):
    """A deterministic verifier whose rewards differ between samples (so gradients are not zero)."""
    return [float(len(item.response) % 2) for item in items]


def as_lists(logits):
    """Logits as nested lists of floats, whether numpy gave an array or not (to compare with ==)."""
    return logits.tolist() if hasattr(logits, "tolist") else logits


def probe_logits(policy):
    """The policy's logits on a fixed text, to compare weights."""
    return as_lists(policy.logits(policy.tokenize(PROBE)))


@pytest.fixture
def policy():
    with make_policy() as value:
        yield value


@pytest.fixture
def trainer(policy):
    with libscore.Trainer(policy, **FAST_TRAINING) as value:
        value.set_verifier(varied_rewards)
        yield value
