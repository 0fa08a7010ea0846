"""Data-parallel SCoRe with torch.distributed (Gloo, CPU): examples/python/mpi_train.py without MPI.

    python3 examples/python/torch_distributed_train.py [--ranks 2] [--steps N] [--prompts P]

Spawns ``--ranks`` processes on this machine (torch.multiprocessing); each holds a replica of the
trainer. The library's flat buffers are shared with torch without copies (``torch.from_numpy`` on
``Trainer.parameters()`` and ``Trainer.gradients()``), so the broadcast of rank 0's values and
the gradient allreduce write straight into the library's memory. At the end every rank prints
``rank R step S checksum HEX``, equal on every rank. Needs torch and numpy.
"""

import argparse
import random
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing

import libscore

CONFIG = {"hidden_size": 64, "num_layers": 2, "num_heads": 4, "num_kv_heads": 2, "intermediate_size": 192}


def say(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def all_ranks(local_ok):
    """Whether ``local_ok`` holds on every rank (a collective)."""
    flag = torch.tensor([1 if local_ok else 0])
    dist.all_reduce(flag, op=dist.ReduceOp.MIN)
    return bool(flag.item())


def replica(rank, ranks, args, port):
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=ranks)
    rng = random.Random(2024)  # the same problems and batches on every rank
    train = [(f"{a}+{b}=", str(a + b)) for a, b in ((rng.randrange(50), rng.randrange(50)) for _ in range(96))]
    policy = libscore.Policy(CONFIG, seed=7, threads=1, instruction="Check the sum and answer again.")
    trainer = libscore.Trainer(policy, stage_i_steps=max(args.steps // 2, 1), stage_ii_steps=1000,
                               samples_per_prompt=4, max_new_tokens=6, learning_rate=1e-4, seed=args.seed + rank)
    trainer.set_verifier(lambda items: [float(item.response.strip() == item.reference) for item in items])
    for _ in range(60):
        trainer.sft_step([rng.choice(train) for _ in range(16)], learning_rate=3e-3)
    trainer.reset_reference()

    values = torch.from_numpy(trainer.parameters())  # the library's memory, not a copy
    sizes = [None] * ranks
    dist.all_gather_object(sizes, values.numel())
    if len(set(sizes)) != 1:
        raise SystemExit(f"rank {rank}: replicas differ in shape: {sizes}")
    dist.broadcast(values, src=0)
    checksums = [None] * ranks
    dist.all_gather_object(checksums, trainer.checksum())
    if len(set(checksums)) != 1:
        raise SystemExit(f"rank {rank}: the replicas do not hold the same values")

    share = args.prompts // ranks
    for _ in range(args.steps):
        batch = [rng.choice(train) for _ in range(args.prompts)][rank * share:(rank + 1) * share]
        try:
            stats = trainer.compute_gradients([p for p, _ in batch], [r for _, r in batch])
        except Exception as error:  # the verifier's exception or the library's error
            say(f"rank {rank}: {error}")
            stats = None
        if not all_ranks(stats is not None):
            raise SystemExit(1)
        gradients = torch.from_numpy(trainer.gradients())
        dist.all_reduce(gradients, op=dist.ReduceOp.SUM)
        gradients /= ranks
        norm = trainer.apply_gradients()
        parts = [None] * ranks
        dist.all_gather_object(parts, stats)
        if rank == 0:
            total = libscore.combine_step_stats(parts)
            say(f"step {total.step:3d}  {total.stage.name:<11}  episodes {total.episodes:3d}  "
                f"Acc@t1 {total.acc_t1_pct:5.1f}%  Acc@t2 {total.acc_t2_pct:5.1f}%  grad norm {norm:.4f}")
    say(f"rank {rank} step {trainer.completed_steps} checksum {trainer.checksum():016x}")
    dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--port", type=int, default=29533)
    args = parser.parse_args()
    if args.ranks < 1 or args.prompts % args.ranks:
        raise SystemExit(f"--prompts {args.prompts} is not a multiple of --ranks {args.ranks}")
    torch.multiprocessing.spawn(replica, args=(args.ranks, args, args.port), nprocs=args.ranks, join=True)


if __name__ == "__main__":
    main()
