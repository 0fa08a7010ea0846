"""Data-parallel SCoRe over MPI (mpi4py): one replica of the trainer per rank, gradients averaged.

    mpirun -n 2 python3 examples/python/mpi_train.py [--steps N] [--prompts P] [--threads T]
                                                     [--fail-rank R --fail-step S]

Every rank builds the same tiny policy, warms it up on correct sums, receives rank 0's values
(broadcast into ``Trainer.parameters()``) and compares checksums; then each step every rank
samples and scores its share of the prompts with its own verifier, the ranks agree that every
rank computed (one failure stops all of them cleanly, nobody waits in the next collective),
average the gradient buffer in place (a SUM allreduce, then the division by the rank count), and
apply it. Rank 0 prints each global step (``libscore.combine_step_stats``); at the end every rank
prints ``rank R step S checksum HEX``, equal on every rank. The recipe is score.h's
"Data-parallel training"; examples/c/mpi_train.c is the same program in C.
"""

import argparse
import random
import sys
import time

from mpi4py import MPI

import libscore

COMM = MPI.COMM_WORLD
RANK, RANKS = COMM.Get_rank(), COMM.Get_size()
CONFIG = {"hidden_size": 64, "num_layers": 2, "num_heads": 4, "num_kv_heads": 2, "intermediate_size": 192}


def problems(rng, count=96):
    pairs = [(rng.randrange(50), rng.randrange(50)) for _ in range(count)]
    return [(f"{a}+{b}=", str(a + b)) for a, b in pairs]


class Verifier:
    """Reward 1 when the response is the reference integer; fails at ``fail_step`` on purpose."""

    def __init__(self, fail_step):
        self.step, self.fail_step = 0, fail_step

    def __call__(self, items):
        if self.step == self.fail_step:
            raise RuntimeError(f"the verifier's service is down (step {self.step})")
        return [1.0 if item.response.strip() == item.reference else 0.0 for item in items]


def say(text, stream=None):
    """Prints one whole line in one write, so that mpirun does not split it among other ranks' output."""
    stream = stream or sys.stdout
    stream.write(text + "\n")
    stream.flush()


def all_ranks(local_ok):
    """Whether ``local_ok`` holds on every rank (a collective: all ranks call it at one point)."""
    return COMM.allreduce(1 if local_ok else 0, op=MPI.MIN) == 1


def buffer(view):
    """An MPI buffer over a flat float view (numpy array or memoryview of floats)."""
    return [view, MPI.FLOAT]


def broadcast_values(trainer):
    """Rank 0's trained values into every replica; then every checksum must equal rank 0's."""
    values = trainer.parameters()
    counts = COMM.allgather(len(values))
    if min(counts) != max(counts):
        raise SystemExit(f"rank {RANK}: replicas differ in shape: {counts} trained values")
    COMM.Bcast(buffer(values), root=0)
    checksum = trainer.checksum()
    if not all_ranks(checksum == COMM.bcast(checksum, root=0)):
        raise SystemExit(f"rank {RANK}: the replicas do not hold the same values")


def step(trainer, verifier, prompts, references):
    """One global step; returns rank 0's combined statistics (None elsewhere), or raises SystemExit."""
    verifier.step = trainer.completed_steps + 1
    share = len(prompts) // RANKS
    mine = slice(RANK * share, (RANK + 1) * share)
    try:
        stats = trainer.compute_gradients(prompts[mine], references[mine])
    except Exception as error:  # the verifier's own exception, or the library's error
        say(f"rank {RANK}: {error}", sys.stderr)
        stats = None
    if not all_ranks(stats is not None):
        raise SystemExit(1 if stats is None else f"rank {RANK}: step {verifier.step} failed on another rank")
    gradients = trainer.gradients()
    COMM.Allreduce(MPI.IN_PLACE, buffer(gradients), op=MPI.SUM)
    if hasattr(gradients, "dtype"):  # numpy: the division in place
        gradients /= RANKS
    else:
        for i in range(len(gradients)):
            gradients[i] /= RANKS
    norm = trainer.apply_gradients()
    parts = COMM.gather(stats, root=0)
    return (libscore.combine_step_stats(parts), norm) if RANK == 0 else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fail-rank", type=int, default=-1)
    parser.add_argument("--fail-step", type=int, default=-1)
    args = parser.parse_args()
    if args.prompts % RANKS:
        raise SystemExit(f"--prompts {args.prompts} is not a multiple of the {RANKS} ranks")

    rng = random.Random(2024)  # the same problems and batches on every rank
    train = problems(rng)
    policy = libscore.Policy(CONFIG, seed=7, threads=args.threads, instruction="Check the sum and answer again.")
    trainer = libscore.Trainer(policy, stage_i_steps=max(args.steps // 2, 1), stage_ii_steps=1000,
                               samples_per_prompt=4, max_new_tokens=6, learning_rate=1e-4,
                               seed=args.seed + RANK)  # each rank its own episodes
    verifier = Verifier(args.fail_step if RANK == args.fail_rank else -1)
    trainer.set_verifier(verifier)

    for _ in range(60):  # warm-up: identical supervised steps on every rank
        loss = trainer.sft_step([rng.choice(train) for _ in range(16)], learning_rate=3e-3)
    trainer.reset_reference()
    broadcast_values(trainer)
    if RANK == 0:
        say(f"warm-up: 60 supervised steps, loss {loss:.3f}; {RANKS} replicas hold rank 0's values")

    began = time.perf_counter()
    for _ in range(args.steps):
        batch = [rng.choice(train) for _ in range(args.prompts)]
        result = step(trainer, verifier, [p for p, _ in batch], [r for _, r in batch])
        if result:
            stats, norm = result
            say(f"step {stats.step:3d}  {stats.stage.name:<11}  episodes {stats.episodes:3d}  "
                  f"Acc@t1 {stats.acc_t1_pct:5.1f}%  Acc@t2 {stats.acc_t2_pct:5.1f}%  grad norm {norm:.4f}")
    if RANK == 0 and args.steps:
        say(f"{args.steps} steps of {args.prompts} prompts on {RANKS} ranks: "
              f"{args.steps / (time.perf_counter() - began):.3f} steps/s")
    say(f"rank {RANK} step {trainer.completed_steps} checksum {trainer.checksum():016x}")
    trainer.close()
    policy.close()


if __name__ == "__main__":
    main()
