"""Policy: lifetime, text, logits, generation, self-correction, save and load."""

import math
import threading
import time

import pytest

import libscore
from conftest import FAST_TRAINING, INSTRUCTION, PROMPTS, REFERENCES, TINY, as_lists, make_policy, probe_logits, \
    varied_rewards


def test_create_and_describe(policy):
    info = policy.info
    assert info.vocab_size == TINY["vocab_size"]
    assert info.tokenizer_size == 262
    assert info.max_seq_len == TINY["max_seq_len"]
    assert info.threads == 1
    assert info.parameter_count > 0


def test_default_config_comes_from_the_library():
    config = libscore.Policy.default_config()
    assert config["vocab_size"] >= 262 and config["hidden_size"] > 0
    assert set(TINY) <= set(config)


def test_close_twice_and_context_manager():
    policy = make_policy()
    assert not policy.closed
    policy.close()
    policy.close()
    assert policy.closed
    with pytest.raises(ValueError, match="closed"):
        policy.tokenize("x")
    with make_policy() as other:
        assert other.tokenize("a") == [97]
    assert other.closed


def test_tokenize_round_trip_including_non_ascii(policy):
    for text in ["12+34=46", "", "héllo wörld — ✓ 日本語 🙂", "<|user|> is plain text"]:
        ids = policy.tokenize(text)
        assert all(isinstance(token, int) for token in ids)
        assert policy.detokenize(ids) == text
    assert policy.tokenize("é") == list("é".encode("utf-8"))


def test_detokenize_refuses_ids_outside_the_tokenizer(policy):
    with pytest.raises(libscore.InvalidArgumentError) as caught:
        policy.detokenize([65, 300])
    assert caught.value.status == -1 and caught.value.message


def test_detokenize_replaces_invalid_utf8(policy):
    assert policy.detokenize([0xC3]) == "\ufffd"


def test_logits_shape(policy):
    ids = policy.tokenize("12+34=")
    rows = policy.logits(ids)
    assert len(rows) == len(ids)
    assert all(len(row) == TINY["vocab_size"] for row in rows)
    assert all(math.isfinite(value) for row in rows for value in row)


def test_logits_refuses_empty_and_too_long_input(policy):
    with pytest.raises(ValueError):
        policy.logits([])
    with pytest.raises(libscore.InvalidArgumentError):
        policy.logits([65] * (TINY["max_seq_len"] + 1))


def test_generate_is_greedy_and_deterministic_by_default(policy):
    first = policy.generate("12+34=", max_new_tokens=6)
    assert isinstance(first, str)
    assert policy.generate("12+34=", max_new_tokens=6) == first
    sampled = policy.generate("12+34=", max_new_tokens=6, temperature=1.0, top_k=20, seed=3)
    assert sampled == policy.generate("12+34=", max_new_tokens=6, temperature=1.0, top_k=20, seed=3)


def test_self_correct_greedy_is_deterministic(policy):
    first = policy.self_correct("12+34=", max_new_tokens=6)
    second = policy.self_correct("12+34=", max_new_tokens=6)
    assert first == second
    assert isinstance(first, libscore.Correction)
    assert first.revised and first.attempt2 is not None
    assert first.final_text == first.attempt2
    assert 1 <= len(first.tokens1) <= 6 and len(first.logprobs1) == len(first.tokens1)
    assert 1 <= len(first.tokens2) <= 6 and len(first.logprobs2) == len(first.tokens2)
    assert all(value <= 0 for value in first.logprobs1 + first.logprobs2)
    assert 0.0 <= first.confidence <= 1.0


def test_self_correct_attempts(policy):
    two = policy.self_correct("12+34=", max_new_tokens=6)
    three = policy.self_correct("12+34=", max_new_tokens=6, attempts=3)
    assert two.attempts == [two.attempt1, two.attempt2]
    assert len(three.attempts) == 3 and three.attempts[:2] == two.attempts
    assert three.final_text == three.attempts[2]
    one = policy.self_correct("12+34=", max_new_tokens=6, attempts=1)
    assert not one.revised and one.attempts == [one.attempt1]
    for bad in (0, 17):
        with pytest.raises(libscore.InvalidArgumentError, match="attempts"):
            policy.self_correct("12+34=", attempts=bad)


def test_self_correct_gate(policy):
    never = policy.self_correct("12+34=", max_new_tokens=6, gated=True, gate_threshold=0.0)
    assert not never.revised
    assert never.attempt2 is None and never.tokens2 == [] and never.logprobs2 == []
    assert never.final_text == never.attempt1
    for measure in libscore.policy.CONFIDENCE_MEASURES:
        gated = policy.self_correct("12+34=", max_new_tokens=6, gated=True, gate_threshold=1.0,
                                    confidence=measure)
        assert 0.0 <= gated.confidence <= 1.0
        assert gated.revised == (gated.confidence < 1.0)
    with pytest.raises(libscore.InvalidArgumentError):
        policy.self_correct("12+34=", gated=True, gate_threshold=2.0)
    with pytest.raises(ValueError):
        policy.self_correct("12+34=", confidence="loudest")


def test_save_then_load_gives_identical_logits(policy, tmp_path):
    folder = tmp_path / "model"
    policy.save(folder)
    assert (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()
    with libscore.Policy.load(str(folder), threads=1, instruction=INSTRUCTION) as loaded:
        assert probe_logits(loaded) == probe_logits(policy)
        assert loaded.info == policy.info


def test_load_missing_folder(tmp_path):
    with pytest.raises((libscore.InvalidFileError, libscore.ScoreIOError)) as caught:
        libscore.Policy.load(tmp_path / "nowhere")
    assert caught.value.message


def test_load_corrupt_folder(policy, tmp_path):
    folder = tmp_path / "model"
    policy.save(folder)
    (folder / "model.safetensors").write_bytes(b"\x07garbage, not a safetensors file" * 3)
    with pytest.raises((libscore.InvalidFileError, libscore.ScoreIOError)) as caught:
        libscore.Policy.load(folder)
    assert caught.value.message


def test_bad_config_is_refused_by_the_library():
    with pytest.raises(libscore.InvalidArgumentError):
        libscore.Policy(dict(TINY, num_kv_heads=3), seed=1)
    with pytest.raises(TypeError, match="unexpected option"):
        libscore.Policy(dict(TINY, hidden=32))


def test_wrong_types_raise_type_error(policy):
    with pytest.raises(TypeError):
        policy.tokenize(b"bytes")
    with pytest.raises(TypeError):
        policy.generate(42)
    with pytest.raises(TypeError):
        policy.self_correct(None)
    with pytest.raises(TypeError):
        policy.detokenize("abc")
    with pytest.raises(TypeError):
        policy.detokenize([1.5])
    with pytest.raises(TypeError):
        policy.logits([65, "B"])
    with pytest.raises(TypeError):
        policy.generate("x", max_new_tokens=2.5)
    with pytest.raises(TypeError):
        policy.self_correct("x", gated="yes")
    with pytest.raises(TypeError):
        policy.save(3)
    with pytest.raises(TypeError):
        libscore.Policy(TINY, seed="1")
    with pytest.raises(TypeError):
        libscore.Policy(TINY, seed=1, threads=1.0)
    with pytest.raises(TypeError):
        libscore.Policy([("hidden_size", 32)])
    with pytest.raises(ValueError):
        policy.generate("x", max_new_tokens=2**40)
    with pytest.raises(ValueError):
        policy.generate("x", seed=-1)
    with pytest.raises(ValueError):
        libscore.Policy(TINY, seed=2**64)
    with pytest.raises(ValueError):
        policy.detokenize([2**31])
    with pytest.raises(ValueError):
        policy.tokenize("nul\0inside")
    with pytest.raises(ValueError):
        policy.tokenize("lone surrogate \ud800")


HF_FOLDER = __import__("pathlib").Path(__file__).resolve().parents[3] / "Tests/ScoreEngineTests/Fixtures/pretrained/llama_tied"


@pytest.mark.skipif(not HF_FOLDER.is_dir(), reason="the repository's model-folder fixture is not here")
def test_hugging_face_folder_and_host_chat_template():
    with libscore.Policy.load(HF_FOLDER) as policy:
        assert policy.info.vocab_size == 300
        plain = policy.self_correct("1+1=", max_new_tokens=4)
    layout = {"conversation_start": "<|bos|>", "user_prefix": "<|user|>Q: ", "user_suffix": "<|end_turn|>",
              "assistant_prefix": "<|assistant|>", "end_of_turn": "<|end_turn|>"}
    with libscore.Policy.load(HF_FOLDER, chat_template=layout, template_date="26 Jul 2024") as policy:
        custom = policy.self_correct("1+1=", max_new_tokens=4)
    assert plain.tokens1 and custom.tokens1
    with pytest.raises(libscore.ScoreError):
        libscore.Policy.load(HF_FOLDER, chat_template=dict(layout, end_of_turn="end"))
    with pytest.raises(ValueError, match="unknown fields"):
        libscore.Policy.load(HF_FOLDER, chat_template=dict(layout, system="x"))
    with pytest.raises(TypeError):
        libscore.Policy.load(HF_FOLDER, chat_template="chatml")


GGUF_FILE = HF_FOLDER.parents[1] / "gguf" / "llama.gguf"


@pytest.mark.skipif(not GGUF_FILE.is_file(), reason="the repository's GGUF fixture is not here")
def test_gguf_file_loads_and_saves_as_a_folder(tmp_path):
    with libscore.Policy.load(GGUF_FILE) as policy:
        assert policy.info.vocab_size == 420
        ids = policy.tokenize("What is 17*23?")
        logits = policy.logits(ids)
        policy.save(tmp_path / "folder")
    with libscore.Policy.load(tmp_path / "folder") as reloaded:
        assert reloaded.tokenize("What is 17*23?") == ids
        assert as_lists(reloaded.logits(ids)) == as_lists(logits)
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(GGUF_FILE.read_bytes()[:5000])
    with pytest.raises(libscore.ScoreError, match="truncated"):
        libscore.Policy.load(truncated)


def test_threads_sharing_a_policy_are_serialized():
    # A step holds the policy while its verifier sleeps (the GIL released); threads calling the
    # policy meanwhile must wait for the step. Without the bindings' lock the library refuses
    # their calls at once (StateError, one call per handle), and they would not run after it.
    with make_policy() as policy, libscore.Trainer(policy, **FAST_TRAINING) as trainer:
        inside = threading.Event()
        verifier_exits, corrections, errors = [], [], []

        def slow_verifier(items):
            inside.set()
            time.sleep(0.1)
            verifier_exits.append(time.monotonic())
            return varied_rewards(items)

        def train():
            try:
                trainer.step(PROMPTS, REFERENCES)
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)

        def correct():
            inside.wait()
            try:
                for _ in range(5):
                    text = policy.self_correct("12+34=", max_new_tokens=4).final_text
                    corrections.append((time.monotonic(), text))
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)

        trainer.set_verifier(slow_verifier)
        threads = [threading.Thread(target=train)] + [threading.Thread(target=correct) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        assert trainer.completed_steps == 1 and len(corrections) == 15
        assert min(finished for finished, _ in corrections) > max(verifier_exits)
        after_the_step = policy.self_correct("12+34=", max_new_tokens=4).final_text
        assert [text for _, text in corrections] == [after_the_step] * 15


def test_majority_vote_returns_the_winner_and_its_votes(policy):
    answer, votes = policy.majority_vote("12+34=", 6, temperature=1.0, max_new_tokens=6, seed=3)
    assert (answer is None) == (votes == 0) and 0 <= votes <= 6
    assert policy.majority_vote("12+34=", 6, temperature=1.0, max_new_tokens=6, seed=3) == (answer, votes)
    plain = policy.majority_vote("12+34=", 3, self_correct=False, temperature=0.0, max_new_tokens=6)
    assert plain[0] is None or plain[1] == 3  # greedy samples all agree
    chains = policy.majority_vote("12+34=", 3, temperature=0.0, max_new_tokens=6, attempts=3)
    assert chains[0] is None or chains[1] == 3
    with pytest.raises(libscore.InvalidArgumentError, match="attempts"):
        policy.majority_vote("12+34=", 2, attempts=0)
    with pytest.raises(ValueError):
        policy.majority_vote("12+34=", 0)
    with pytest.raises(TypeError):
        policy.majority_vote("12+34=", 2, self_correct=1)
