"""Under `mpirun -n 2`: two replicas averaging their gradients take exactly the step that one
trainer takes on the union of their episodes (to float-summation order), and stay bit-identical.

Greedy attempts and no baseline make the episodes independent of each rank's sampling seed, so
the union of the ranks' episodes is exactly the single trainer's."""

import sys

from mpi4py import MPI

import libscore

COMM = MPI.COMM_WORLD
RANK, RANKS = COMM.Get_rank(), COMM.Get_size()
CONFIG = {"hidden_size": 32, "num_layers": 2, "num_heads": 2, "num_kv_heads": 1, "intermediate_size": 64}
PROMPTS = ["12+34=", "7+8=", "3+4=", "20+22=", "5+5=", "40+9=", "1+1=", "30+3="]
OPTIONS = {"temperature": 0.0, "baseline": "none", "samples_per_prompt": 2, "max_new_tokens": 6,
           "learning_rate": 1e-2}


def rewards(items):
    """Rewards that depend on every byte of each response and its prompt."""
    return [float((sum(item.response.encode()) + len(item.prompt)) % 3 == 0) for item in items]


def trainer_for(policy, seed):
    trainer = libscore.Trainer(policy, seed=seed, **OPTIONS)
    trainer.set_verifier(rewards)
    return trainer


def main():
    if RANKS != 2:
        raise SystemExit("run with mpirun -n 2")
    references = [str(eval(p[:-1])) for p in PROMPTS]  # noqa: S307 - our own sums
    share = len(PROMPTS) // RANKS
    mine = slice(RANK * share, (RANK + 1) * share)
    with libscore.Policy(CONFIG, seed=3, threads=1) as policy, trainer_for(policy, seed=10 + RANK) as replica:
        for step in range(3):
            replica.compute_gradients(PROMPTS[mine], references[mine])
            gradients = replica.gradients()
            COMM.Allreduce(MPI.IN_PLACE, [gradients, MPI.FLOAT], op=MPI.SUM)
            gradients /= RANKS
            averaged = gradients.copy()
            if RANK == 0 and step == 0:
                with libscore.Policy(CONFIG, seed=3, threads=1) as whole_policy, \
                        trainer_for(whole_policy, seed=99) as whole:
                    whole.compute_gradients(PROMPTS, references)
                    expected = whole.gradients().copy()
                scale = float(abs(expected).max())
                error = float(abs(averaged - expected).max())
                print(f"union check: max |averaged − single| = {error:.3g} (largest gradient {scale:.3g})")
                if scale == 0 or error > 1e-5 * scale:
                    COMM.Abort(1)
            replica.apply_gradients()
            checksums = COMM.allgather(replica.checksum())
            if len(set(checksums)) != 1:
                print(f"step {step + 1}: replicas differ: {checksums}", file=sys.stderr)
                COMM.Abort(1)
        if RANK == 0:
            print(f"replicas bit-identical after {replica.completed_steps} steps: checksum {checksums[0]:016x}")


if __name__ == "__main__":
    main()
