"""Trainer: steps with Python and built-in verifiers, failures, split steps, SFT, save/resume."""

import gc
import math
import weakref

import pytest

import libscore
from conftest import FAST_TRAINING, PROMPTS, REFERENCES, make_policy, probe_logits, varied_rewards


def test_step_with_a_python_verifier(trainer):
    seen = []

    def verifier(items):
        seen.extend(items)
        return varied_rewards(items)

    trainer.set_verifier(verifier)
    assert trainer.next_stage == libscore.Stage.STAGE_I and trainer.completed_steps == 0
    stats = trainer.step(PROMPTS, REFERENCES)
    assert isinstance(stats, libscore.StepStats)
    assert stats.step == 1 and trainer.completed_steps == 1
    assert stats.stage == libscore.Stage.STAGE_I
    assert stats.episodes == len(PROMPTS) * FAST_TRAINING["samples_per_prompt"]
    for name, value in vars(stats).items():
        assert math.isfinite(value), name
    assert 0 <= stats.acc_t1_pct <= 100 and 0 <= stats.acc_t2_pct <= 100
    turns = {item.turn for item in seen}
    assert turns == {1, 2}
    for item in seen:
        assert isinstance(item, libscore.VerifyItem)
        assert (item.prompt, item.reference) in set(zip(PROMPTS, REFERENCES))
        assert isinstance(item.response, str)
        assert (item.first_attempt is None) == (item.turn == 1)


def test_verifier_exception_surfaces_then_the_trainer_still_works(trainer):
    class Broken(Exception):
        pass

    def broken(items):
        raise Broken("the verifier failed")

    before = probe_logits(trainer.policy)
    trainer.set_verifier(broken)
    with pytest.raises(Broken, match="the verifier failed") as caught:
        trainer.step(PROMPTS, REFERENCES)
    assert isinstance(caught.value.__cause__, libscore.CallbackError)
    assert trainer.completed_steps == 0
    assert probe_logits(trainer.policy) == before
    trainer.set_verifier(varied_rewards)
    assert trainer.step(PROMPTS, REFERENCES).step == 1


def test_nan_reward_fails_and_changes_nothing(trainer):
    before = probe_logits(trainer.policy)
    trainer.set_verifier(lambda items: [math.nan] * len(items))
    with pytest.raises(libscore.NonFiniteError) as caught:
        trainer.step(PROMPTS, REFERENCES)
    assert caught.value.status == -6 and caught.value.message
    assert probe_logits(trainer.policy) == before
    assert trainer.completed_steps == 0


@pytest.mark.parametrize("result, error", [
    (lambda items: [1.0] * (len(items) + 1), ValueError),
    (lambda items: [], ValueError),
    (lambda items: 1.0, TypeError),
    (lambda items: "1" * len(items), TypeError),
    (lambda items: None, TypeError),
    (lambda items: ["1"] * len(items), TypeError),
])
def test_malformed_verifier_results_are_errors(trainer, result, error):
    before = probe_logits(trainer.policy)
    trainer.set_verifier(result)
    with pytest.raises(error):
        trainer.step(PROMPTS, REFERENCES)
    assert probe_logits(trainer.policy) == before
    trainer.set_verifier(varied_rewards)
    trainer.step(PROMPTS, REFERENCES)


def test_verifier_may_return_ints_bools_and_tuples(trainer):
    # The rewards that reached the trainer, as its step statistics report them.
    trainer.set_verifier(lambda items: tuple(item.turn == 2 for item in items))
    stats = trainer.step(PROMPTS, REFERENCES)
    assert (stats.reward_mean_t1, stats.reward_mean_t2) == (0.0, 1.0)
    assert (stats.acc_t1_pct, stats.acc_t2_pct) == (0.0, 100.0)
    trainer.set_verifier(lambda items: [int(item.turn == 1) for item in items])
    stats = trainer.step(PROMPTS, REFERENCES)
    assert (stats.reward_mean_t1, stats.reward_mean_t2) == (1.0, 0.0)
    assert (stats.acc_t1_pct, stats.acc_t2_pct) == (100.0, 0.0)
    trainer.set_verifier(lambda items: tuple(index % 2 if item.turn == 1 else True for index, item in enumerate(items)))
    stats = trainer.step(PROMPTS, REFERENCES)
    assert (stats.reward_mean_t1, stats.reward_std_t1, stats.reward_mean_t2) == (0.5, 0.5, 1.0)


def test_abort_from_the_verifier(trainer):
    def abort(items):
        raise libscore.Abort("stop now")

    trainer.set_verifier(abort)
    with pytest.raises(libscore.AbortedError) as caught:
        trainer.step(PROMPTS, REFERENCES)
    assert caught.value.status == -5
    assert isinstance(caught.value.__cause__, libscore.Abort)
    assert trainer.completed_steps == 0


def test_verifier_callback_survives_garbage_collection():
    with make_policy() as policy:
        trainer = libscore.Trainer(policy, **FAST_TRAINING)
        trainer.set_verifier(lambda items: [float(len(item.response) % 2) for item in items])
        gc.collect()
        assert trainer.step(PROMPTS, REFERENCES).step == 1
        trainer.close()


def test_replacing_callbacks_keeps_one_reference_per_slot(trainer):
    kept = trainer._handle.callbacks

    def make_verifier(reward):
        return lambda items: [reward] * len(items)

    first = make_verifier(0.0)
    replaced = weakref.ref(first)
    trainer.set_verifier(first)
    del first
    for _ in range(100):
        trainer.set_verifier(make_verifier(0.0))
        trainer.set_progress(lambda phase, done, total: None)
    assert set(kept) == {"verifier", "progress"}
    phases = []
    trainer.set_verifier(make_verifier(1.0))
    trainer.set_progress(lambda phase, done, total: phases.append(phase))
    gc.collect()
    assert replaced() is None, "a replaced verifier is still referenced"
    assert len(kept) == 2
    stats = trainer.step(PROMPTS, REFERENCES)  # the last ones, still alive, are called
    assert (stats.reward_mean_t1, stats.reward_mean_t2) == (1.0, 1.0)
    assert libscore.Phase.VERIFY in phases
    trainer.set_progress(None)
    trainer.use_builtin_verifier("exact_match")
    assert kept == {}


def test_a_refused_replacement_keeps_the_running_verifier(trainer):
    refused = []

    def replacing(items):
        try:
            trainer.set_verifier(lambda items: [0.0] * len(items))  # the step holds the trainer
        except libscore.StateError as error:
            refused.append(error)
        gc.collect()
        return [1.0] * len(items)

    trainer.set_verifier(replacing)
    del replacing
    for step in (1, 2):
        stats = trainer.step(PROMPTS, REFERENCES)
        assert stats.step == step and stats.reward_mean_t2 == 1.0
    assert refused and trainer.verifier.__name__ == "replacing"


@pytest.mark.parametrize("close", ["trainer", "policy"])
def test_closing_from_a_callback_keeps_it_alive_until_the_call_returns(close):
    with make_policy() as policy:
        trainer = libscore.Trainer(policy, **FAST_TRAINING)
        alive = []

        def closing(items):
            (trainer if close == "trainer" else policy).close()  # frees the handle, not the running step
            gc.collect()
            alive.append(running() is not None)
            return [1.0] * len(items)

        trainer.set_verifier(closing)
        running = weakref.ref(trainer._handle.callbacks["verifier"])
        trainer.step(PROMPTS, REFERENCES)
        assert trainer.closed and alive and all(alive)
        gc.collect()
        assert running() is None


def test_callbacks_are_released_with_the_handle():
    with make_policy() as policy:
        trainer = libscore.Trainer(policy, **FAST_TRAINING)
        trainer.set_verifier(varied_rewards)
        trainer.set_progress(lambda phase, done, total: None)
        kept = trainer._handle.callbacks
        assert len(kept) == 2
        trainer.close()
        assert kept == {}
        other = libscore.Trainer(policy, **FAST_TRAINING)
        other.set_verifier(varied_rewards)
        kept = other._handle.callbacks
    assert policy.closed and other.closed and kept == {}


def test_trainer_keeps_its_policy_alive():
    trainer = libscore.Trainer(make_policy(), **FAST_TRAINING)
    gc.collect()
    trainer.use_builtin_verifier("exact_match")
    assert trainer.step(PROMPTS, REFERENCES).step == 1
    assert not trainer.policy.closed
    trainer.close()
    trainer.close()
    trainer.policy.close()


def test_closing_the_policy_closes_its_trainer():
    policy = make_policy()
    trainer = libscore.Trainer(policy, **FAST_TRAINING)
    policy.close()
    assert trainer.closed
    with pytest.raises(ValueError, match="closed"):
        trainer.step(PROMPTS, REFERENCES)
    trainer.close()
    with pytest.raises(ValueError, match="closed"):
        libscore.Trainer(policy)


@pytest.mark.parametrize("name", ["exact_match", "final_answer", "arithmetic"])
def test_builtin_verifiers(trainer, name):
    trainer.use_builtin_verifier(name)
    assert trainer.verifier is None
    stats = trainer.step(PROMPTS, REFERENCES)
    assert stats.step == 1 and math.isfinite(stats.loss)


def test_builtin_verifier_names_are_checked(trainer):
    with pytest.raises(ValueError):
        trainer.use_builtin_verifier("fuzzy")
    with pytest.raises(TypeError):
        trainer.use_builtin_verifier(0)
    with pytest.raises(TypeError):
        trainer.set_verifier("exact_match")


def test_argument_checks(trainer):
    with pytest.raises(ValueError, match="length"):
        trainer.step(PROMPTS, REFERENCES[:1])
    with pytest.raises(ValueError):
        trainer.step([], [])
    with pytest.raises(TypeError):
        trainer.step("12+34=", "46")
    with pytest.raises(TypeError):
        trainer.step([12], ["46"])
    with pytest.raises(TypeError):
        trainer.evaluate(PROMPTS, [46, 15])
    with pytest.raises(ValueError):
        trainer.evaluate(PROMPTS, REFERENCES, protocol="best")
    with pytest.raises(TypeError):
        trainer.sft_step([("12+34=", 46)], 1e-3)
    with pytest.raises(TypeError):
        trainer.sft_step([("12+34=", "46")], "fast")
    with pytest.raises(TypeError):
        libscore.Trainer("policy")
    with pytest.raises(TypeError, match="unexpected option"):
        libscore.Trainer(trainer.policy, learning_rates=1e-3)
    with pytest.raises(TypeError):
        libscore.Trainer(trainer.policy, samples_per_prompt=2.5)
    with pytest.raises(ValueError):
        libscore.Trainer(trainer.policy, shaping="sharp")
    with pytest.raises(libscore.InvalidArgumentError):
        libscore.Trainer(trainer.policy, samples_per_prompt=0)


def test_named_options(policy):
    with libscore.Trainer(policy, plan="single_turn", shaping="flip", kl_estimator="k1",
                          baseline="batch_mean", **FAST_TRAINING) as trainer:
        assert trainer.next_stage == libscore.Stage.SINGLE_TURN
        trainer.set_verifier(varied_rewards)
        assert trainer.step(PROMPTS, REFERENCES).stage == libscore.Stage.SINGLE_TURN


def test_second_attempts_and_the_kl_in_the_reward(policy):
    with libscore.Trainer(policy, second_attempts=2, kl_estimator="k1_in_reward", **FAST_TRAINING) as trainer:
        trainer.set_verifier(varied_rewards)
        stats = trainer.step(PROMPTS, REFERENCES)
        assert stats.episodes == len(PROMPTS) * FAST_TRAINING["samples_per_prompt"] * 2
    with pytest.raises(libscore.InvalidArgumentError, match="second_attempts"):
        libscore.Trainer(policy, second_attempts=65)


def test_three_attempts_in_training(policy):
    turns = []

    def recording(items):
        turns.extend(item.turn for item in items)
        assert all((item.turn == 1) == (item.first_attempt is None) for item in items)
        return varied_rewards(items)

    with libscore.Trainer(policy, attempts=3, **FAST_TRAINING) as trainer:
        trainer.set_verifier(recording)
        stats = trainer.step(PROMPTS, REFERENCES)
        episodes = len(PROMPTS) * FAST_TRAINING["samples_per_prompt"]
        assert stats.episodes == episodes
        assert sorted(turns) == [1] * episodes + [2] * episodes + [3] * episodes
    with libscore.Trainer(policy, attempts=3, stage_i_holds_first_only=True, **FAST_TRAINING) as trainer:
        trainer.set_verifier(varied_rewards)
        assert trainer.step(PROMPTS, REFERENCES).stage == libscore.Stage.STAGE_I
    with pytest.raises(libscore.InvalidArgumentError, match="attempts"):
        libscore.Trainer(policy, attempts=1)


def test_stages_follow_the_plan(policy):
    with libscore.Trainer(policy, stage_i_steps=1, stage_ii_steps=1, **FAST_TRAINING) as trainer:
        trainer.set_verifier(varied_rewards)
        assert trainer.step(PROMPTS, REFERENCES).stage == libscore.Stage.STAGE_I
        assert trainer.next_stage == libscore.Stage.STAGE_II
        assert trainer.step(PROMPTS, REFERENCES).stage == libscore.Stage.STAGE_II


def test_evaluate(trainer):
    before = probe_logits(trainer.policy)
    trainer.use_builtin_verifier("arithmetic")
    result = trainer.evaluate(PROMPTS, REFERENCES)
    assert isinstance(result, libscore.EvalResult) and result.count == len(PROMPTS)
    assert 0 <= result.acc_t1_pct <= 100 and 0 <= result.acc_t2_pct <= 100
    assert result == trainer.evaluate(PROMPTS, REFERENCES, protocol="greedy")
    mixed = trainer.evaluate(PROMPTS, REFERENCES, protocol="mixed", seed=7)
    assert mixed.count == len(PROMPTS)
    assert probe_logits(trainer.policy) == before


def test_evaluate_with_a_python_verifier_and_its_errors(trainer):
    trainer.set_verifier(lambda items: [1.0] * len(items))
    result = trainer.evaluate(PROMPTS, REFERENCES)
    assert result.acc_t1_pct == 100 and result.acc_t2_pct == 100
    assert result.break_rate_pct == 0 and result.fix_rate_pct == 0
    trainer.set_verifier(lambda items: [float(item.turn == 2) for item in items])
    fixed = trainer.evaluate(PROMPTS, REFERENCES)
    assert fixed.acc_t1_pct == 0 and fixed.fix_rate_pct == 100 and fixed.break_rate_pct == 0

    def broken(items):
        raise KeyError("no such answer")

    trainer.set_verifier(broken)
    with pytest.raises(KeyError):
        trainer.evaluate(PROMPTS, REFERENCES)


def test_sft_step_lowers_the_loss(trainer):
    example = libscore.SFTExample("12+34=", "46")
    losses = [trainer.sft_step([example], 1e-2) for _ in range(5)]
    assert all(math.isfinite(loss) for loss in losses)
    assert losses[-1] < losses[0]
    pair = trainer.sft_step([("12+34=", "45", "46"), ("7+8=", "15")], 1e-2)
    assert math.isfinite(pair)
    trainer.reset_reference()
    trainer.step(PROMPTS, REFERENCES)


def test_compute_and_apply_across_two_replicas():
    with make_policy(seed=5) as first_policy, make_policy(seed=5) as second_policy:
        assert probe_logits(first_policy) == probe_logits(second_policy)
        with libscore.Trainer(first_policy, **FAST_TRAINING) as first, \
                libscore.Trainer(second_policy, **FAST_TRAINING) as second:
            first.set_verifier(varied_rewards)
            second.set_verifier(varied_rewards)
            stats = first.compute_gradients(PROMPTS, REFERENCES)
            assert stats.grad_norm == 0 and math.isfinite(stats.loss)
            second.compute_gradients(["3+4=", "20+22="], ["7", "42"])
            first_gradients, second_gradients = first.gradients(), second.gradients()
            assert len(first_gradients) == first_policy.info.parameter_count
            mean = [(a + b) / 2 for a, b in zip(first_gradients, second_gradients)]
            assert any(mean)
            first.set_gradients(mean)
            second.set_gradients(mean)
            assert list(first.gradients()) == list(second.gradients())
            with pytest.raises(ValueError):
                first.set_gradients(mean[:-1])
            norm = first.apply_gradients()
            assert norm > 0 and second.apply_gradients() == norm
            assert first.completed_steps == second.completed_steps == 1
        logits = probe_logits(first_policy)
        assert logits == probe_logits(second_policy)
        with make_policy(seed=5) as untouched:
            assert logits != probe_logits(untouched)


def test_apply_without_gradients_and_with_a_nan(trainer):
    with pytest.raises(libscore.StateError):
        trainer.apply_gradients()
    trainer.compute_gradients(PROMPTS, REFERENCES)
    before = probe_logits(trainer.policy)
    gradients = trainer.gradients()
    gradients[0] = math.nan
    trainer.set_gradients(gradients)
    with pytest.raises(libscore.NonFiniteError):
        trainer.apply_gradients()
    assert probe_logits(trainer.policy) == before


def test_save_and_resume_continue_like_an_uninterrupted_run(tmp_path):
    folder = tmp_path / "run"
    options = dict(FAST_TRAINING, stage_i_steps=1)  # the resumed step is the first of Stage II
    with make_policy() as policy, libscore.Trainer(policy, **options) as trainer:
        trainer.set_verifier(varied_rewards)
        trainer.step(PROMPTS, REFERENCES)
        trainer.save(folder)
        uninterrupted = trainer.step(PROMPTS, REFERENCES)
        assert uninterrupted.stage == libscore.Stage.STAGE_II
        expected = probe_logits(policy)
    with make_policy(seed=99) as policy:
        with libscore.Trainer.resume(policy, folder) as resumed:
            assert resumed.completed_steps == 1
            assert resumed.next_stage == libscore.Stage.STAGE_II
            resumed.set_verifier(varied_rewards)
            stats = resumed.step(PROMPTS, REFERENCES)
        assert (stats.step, stats.stage, stats.loss) == (2, uninterrupted.stage, uninterrupted.loss)
        assert probe_logits(policy) == expected


def test_resume_from_a_missing_folder(policy, tmp_path):
    with pytest.raises(libscore.ScoreError) as caught:
        libscore.Trainer.resume(policy, tmp_path / "nothing")
    assert caught.value.status in (-2, -3) and caught.value.message


def test_progress_callback_is_called(trainer):
    calls = []
    trainer.progress = lambda phase, done, total: calls.append((phase, done, total))
    trainer.step(PROMPTS, REFERENCES)
    phases = {phase for phase, _, _ in calls}
    assert {libscore.Phase.ROLLOUT, libscore.Phase.VERIFY, libscore.Phase.BACKWARD} <= phases
    assert all(0 <= done <= total for _, done, total in calls)
    calls.clear()
    trainer.evaluate(PROMPTS, REFERENCES)
    assert libscore.Phase.EVALUATE in {phase for phase, _, _ in calls}
    trainer.progress = None
    calls.clear()
    trainer.step(PROMPTS, REFERENCES)
    assert calls == []


@pytest.mark.parametrize("stop", ["return_false", "raise_abort"])
def test_abort_through_progress(trainer, stop):
    def progress(phase, done, total):
        if phase == libscore.Phase.VERIFY:
            if stop == "raise_abort":
                raise libscore.Abort()
            return False
        return True

    before = probe_logits(trainer.policy)
    trainer.set_progress(progress)
    with pytest.raises(libscore.AbortedError):
        trainer.step(PROMPTS, REFERENCES)
    assert trainer.completed_steps == 0
    assert probe_logits(trainer.policy) == before
    trainer.set_progress(None)
    assert trainer.step(PROMPTS, REFERENCES).step == 1


def test_progress_exception_surfaces(trainer):
    def progress(phase, done, total):
        raise ZeroDivisionError("bad progress bar")

    trainer.set_progress(progress)
    with pytest.raises(ZeroDivisionError):
        trainer.step(PROMPTS, REFERENCES)
    trainer.set_progress(None)
    trainer.step(PROMPTS, REFERENCES)


def test_lora_trains_adapters_that_save_load_and_merge(tmp_path):
    with make_policy(seed=21) as policy, make_policy(seed=21) as other:
        base = probe_logits(policy)
        trainer = libscore.Trainer(policy, **dict(FAST_TRAINING, learning_rate=1e-2),
                                   lora_rank=4, lora_targets=["q", "v_proj", "down"], micro_batch=1)
        trainer.set_verifier(varied_rewards)
        assert policy.adapter_rank == 4
        for _ in range(3):
            trainer.step(PROMPTS, REFERENCES)
        trained = probe_logits(policy)
        assert trained != base
        with pytest.raises(libscore.StateError):
            policy.merge_adapter()
        policy.save_adapter(tmp_path / "adapter")
        assert (tmp_path / "adapter" / "adapter_config.json").exists()
        other.load_adapter(tmp_path / "adapter")
        assert probe_logits(other) == trained
        other.merge_adapter()
        assert other.adapter_rank == 0
        merged = probe_logits(other)
        assert len(merged) == len(trained)
        for row, expected in zip(merged, trained):
            assert row == pytest.approx(expected, rel=1e-4, abs=1e-4)
        trainer.close()


def test_lora_options_are_checked():
    with make_policy(seed=2) as policy:
        with pytest.raises(ValueError, match="lora_targets"):
            libscore.Trainer(policy, lora_rank=2, lora_targets=["attn"])
        with pytest.raises(libscore.InvalidArgumentError, match="rank"):
            libscore.Trainer(policy, lora_rank=100000)
        with pytest.raises(libscore.InvalidArgumentError, match="micro_batch"):
            libscore.Trainer(policy, micro_batch=0)


def test_one_trainer_per_policy_and_no_reentrant_calls(policy):
    with libscore.Trainer(policy, **FAST_TRAINING) as trainer:
        with pytest.raises(libscore.StateError, match="already has a trainer"):
            libscore.Trainer(policy, **FAST_TRAINING)
        seen = []

        def reentrant(items):
            if not seen:
                try:
                    trainer.step(PROMPTS, REFERENCES)
                except libscore.StateError as error:
                    seen.append(error)
            return [float(i % 2) for i in range(len(items))]

        trainer.set_verifier(reentrant)
        assert trainer.step(PROMPTS, REFERENCES).step == 1
        assert len(seen) == 1 and "in use" in str(seen[0])
    with libscore.Trainer(policy, **FAST_TRAINING):
        pass
