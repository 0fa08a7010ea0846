"""Train a small model to correct its own answers to 2-digit additions with SCoRe, scored by a
verifier written in Python.

    python3 train_with_verifier.py --steps 20 --out run1   # save the run; --resume run1 continues it

It warms the model up with supervised steps on correct answers, then runs SCoRe (Stage I, then
Stage II) and evaluates before and after. The defaults take seconds and are far too short to teach
much: raise --warmup and --steps (and the model's size) for real training.
"""

import argparse
import logging
import random
import re

import libscore

MODEL = {"hidden_size": 64, "num_layers": 2, "num_heads": 4, "num_kv_heads": 2,
         "intermediate_size": 128}


def problems(count, rng):
    """``count`` addition prompts and their answers."""
    pairs = [(rng.randint(10, 99), rng.randint(10, 99)) for _ in range(count)]
    return [f"{a}+{b}=" for a, b in pairs], [str(a + b) for a, b in pairs]


def verifier(items):
    """Reward 1 when the last integer in the response equals the reference, else 0."""
    rewards = []
    for item in items:
        numbers = re.findall(r"-?\d+", item.response)
        rewards.append(1.0 if numbers and numbers[-1] == item.reference.strip() else 0.0)
    return rewards


def show_progress(phase, done, total):
    """Prints the phases of each step; returning False (or raising libscore.Abort) would stop it."""
    print(f"\r  {phase.name.lower():<8} {done}/{total}   ", end="", flush=True)


def report(label, result):
    print(f"{label}: Acc@t1 {result.acc_t1_pct:5.1f}%  Acc@t2 {result.acc_t2_pct:5.1f}%  "
          f"delta {result.delta_pct:+5.1f}  (i->c {result.delta_i_to_c_pct:.1f}, "
          f"c->i {result.delta_c_to_i_pct:.1f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="SCoRe steps")
    parser.add_argument("--warmup", type=int, default=400, help="supervised warm-up steps")
    parser.add_argument("--batch", type=int, default=16, help="prompts per step")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", help="save the trainer state to this folder at the end")
    parser.add_argument("--resume", help="continue a run saved with --out")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    test_prompts, test_answers = problems(64, rng)
    # The library's log lines go to the "libscore" logger: show its warnings and errors.
    logging.basicConfig(format="[%(levelname)s] %(message)s", level=logging.WARNING)

    with libscore.Policy(MODEL, seed=args.seed) as policy:
        if args.resume:
            trainer = libscore.Trainer.resume(policy, args.resume)
        else:
            half = max(1, args.steps // 2)
            trainer = libscore.Trainer(policy, stage_i_steps=half, stage_ii_steps=args.steps - half,
                                       samples_per_prompt=4, max_new_tokens=6, learning_rate=1e-3,
                                       seed=args.seed)
        with trainer:
            trainer.set_verifier(verifier)
            if not args.resume:
                for step in range(args.warmup):
                    prompts, answers = problems(args.batch, rng)
                    loss = trainer.sft_step([libscore.SFTExample(p, a) for p, a in zip(prompts, answers)],
                                            learning_rate=3e-3)
                    if step % 20 == 0 or step == args.warmup - 1:
                        print(f"warm-up {step + 1}/{args.warmup}: loss {loss:.3f}")
                trainer.reset_reference()
            report("before", trainer.evaluate(test_prompts, test_answers))

            trainer.progress = show_progress
            for _ in range(args.steps):
                prompts, answers = problems(args.batch, rng)
                stats = trainer.step(prompts, answers)
                print(f"\rstep {stats.step:3d} ({stats.stage.name}): reward t1 {stats.reward_mean_t1:.2f} "
                      f"t2 {stats.reward_mean_t2:.2f}  loss {stats.loss:+.4f}  "
                      f"{stats.seconds:.2f}s")
            trainer.progress = None

            report("after ", trainer.evaluate(test_prompts, test_answers))
            sample = policy.self_correct(test_prompts[0], max_new_tokens=6)
            print(f"sample: {test_prompts[0]} attempt 1 {sample.attempt1!r}, attempt 2 {sample.attempt2!r} "
                  f"(answer {test_answers[0]})")
            if args.out:
                trainer.save(args.out)


if __name__ == "__main__":
    main()
