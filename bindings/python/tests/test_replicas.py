"""Data-parallel hooks: trained values, checksums, per-replica sampling seeds, combined statistics,
and the property MPI training rests on: replicas averaging their gradients take the step one
trainer takes on all their episodes."""

import math

import pytest

import libscore

from conftest import FAST_TRAINING, PROMPTS, REFERENCES, make_policy

MORE_PROMPTS = ["3+4=", "20+22="]
MORE_REFERENCES = ["7", "42"]


def _byte_sum_rewards(items):
    """Rewards that depend on every byte of each response and its prompt (never all equal here)."""
    return [float((sum(item.response.encode()) + len(item.prompt)) % 3 == 0) for item in items]


def _trainer(policy, seed=0, **options):
    trainer = libscore.Trainer(policy, **{**FAST_TRAINING, "seed": seed, **options})
    trainer.set_verifier(_byte_sum_rewards)
    return trainer


def test_replicas_start_equal_and_copying_values_makes_them_equal_again():
    with make_policy() as first_policy, make_policy() as second_policy:
        with _trainer(first_policy, seed=1) as first, _trainer(second_policy, seed=2) as second:
            assert first.checksum() == second.checksum()
            assert len(first.parameters()) == first_policy.info.parameter_count
            assert first.step(PROMPTS, REFERENCES).grad_norm > 0
            assert first.checksum() != second.checksum()
            view = second.parameters()
            view[:] = first.parameters()  # what a broadcast from rank 0 does
            assert second.checksum() == first.checksum()
            probe = first_policy.tokenize("1+1=")
            assert list(map(list, second_policy.logits(probe))) == list(map(list, first_policy.logits(probe)))


def test_a_changed_bit_changes_the_checksum():
    with make_policy() as policy, _trainer(policy) as trainer:
        before = trainer.checksum()
        view = trainer.parameters()
        kept = view[0]
        view[0] = -kept if kept != 0 else 1e-30
        assert trainer.checksum() != before
        view[0] = kept
        assert trainer.checksum() == before


def test_averaged_replica_gradients_equal_one_trainer_on_all_episodes():
    # Greedy attempts and no baseline: the episodes do not depend on the seed, so the union of the
    # replicas' episodes is exactly the single trainer's.
    options = {"temperature": 0.0, "baseline": "none"}
    with make_policy() as whole_policy, make_policy() as a_policy, make_policy() as b_policy:
        with _trainer(whole_policy, seed=5, **options) as whole, _trainer(a_policy, seed=6, **options) as a, \
                _trainer(b_policy, seed=7, **options) as b:
            whole.compute_gradients(PROMPTS + MORE_PROMPTS, REFERENCES + MORE_REFERENCES)
            a.compute_gradients(PROMPTS, REFERENCES)
            b.compute_gradients(MORE_PROMPTS, MORE_REFERENCES)
            expected = list(whole.gradients())
            averaged = [(x + y) / 2 for x, y in zip(a.gradients(), b.gradients())]
            assert any(value != 0 for value in expected)
            scale = max(abs(value) for value in expected)
            assert max(abs(x - y) for x, y in zip(averaged, expected)) <= 1e-5 * scale
            a.set_gradients(averaged)
            b.set_gradients(averaged)
            whole.apply_gradients(), a.apply_gradients(), b.apply_gradients()
            assert a.checksum() == b.checksum()


def test_sampling_seed_restarts_the_stream():
    with make_policy() as p1, make_policy() as p2:
        with _trainer(p1, seed=3) as t1, _trainer(p2, seed=3) as t2:
            t1.compute_gradients(PROMPTS, REFERENCES)
            t2.compute_gradients(PROMPTS, REFERENCES)
            assert list(t1.gradients()) == list(t2.gradients())
            t1.set_sampling_seed(3)
            t2.set_sampling_seed(4)
            t1.compute_gradients(PROMPTS, REFERENCES)
            t2.compute_gradients(PROMPTS, REFERENCES)
            assert list(t1.gradients()) != list(t2.gradients())
            t2.set_sampling_seed(3)
            t2.compute_gradients(PROMPTS, REFERENCES)
            assert list(t1.gradients()) == list(t2.gradients())
            with pytest.raises(libscore.StateError):
                t2.set_sampling_seed(9)
                t2.apply_gradients()  # reseeding discarded the pending gradients


def test_combined_statistics_weigh_each_part_by_its_episodes():
    with make_policy() as policy, _trainer(policy) as trainer:
        one = trainer.compute_gradients(PROMPTS, REFERENCES)
        two = trainer.compute_gradients(PROMPTS + MORE_PROMPTS, REFERENCES + MORE_REFERENCES)
        total = libscore.combine_step_stats([one, two])
        assert total.episodes == one.episodes + two.episodes
        w1, w2 = one.episodes / total.episodes, two.episodes / total.episodes
        assert math.isclose(total.acc_t1_pct, w1 * one.acc_t1_pct + w2 * two.acc_t1_pct, abs_tol=1e-9)
        assert math.isclose(total.loss, w1 * one.loss + w2 * two.loss, rel_tol=1e-12, abs_tol=1e-12)
        pooled = w1 * (one.reward_std_t2 ** 2 + one.reward_mean_t2 ** 2) + \
            w2 * (two.reward_std_t2 ** 2 + two.reward_mean_t2 ** 2) - total.reward_mean_t2 ** 2
        assert math.isclose(total.reward_std_t2, math.sqrt(max(pooled, 0)), abs_tol=1e-9)
        assert total.seconds == max(one.seconds, two.seconds)
        assert libscore.combine_step_stats([one]) == one
        trainer.apply_gradients()
        after = trainer.compute_gradients(PROMPTS, REFERENCES)
        with pytest.raises(libscore.InvalidArgumentError):
            libscore.combine_step_stats([one, after])  # two different steps
        with pytest.raises(libscore.InvalidArgumentError):
            libscore.combine_step_stats([])
