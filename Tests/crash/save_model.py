"""Saves the model at argv[1] (a GGUF file or folder, or "tiny:SEED" for a tiny random model) into
the folder argv[2]; with argv[3] == "state", saves the state of a trainer of it after one step
instead. Run under a process killer by crash_saves.sh."""
import sys

import libscore

TINY = {"vocab_size": 320, "hidden_size": 32, "num_layers": 2, "num_heads": 2, "num_kv_heads": 1,
        "intermediate_size": 64, "max_seq_len": 96}

if sys.argv[1].startswith("tiny:"):
    policy = libscore.Policy(TINY, seed=int(sys.argv[1][5:]), threads=1, instruction="Fix any error.")
else:
    policy = libscore.Policy.load(sys.argv[1])
if len(sys.argv) > 3 and sys.argv[3] == "state":
    with libscore.Trainer(policy, samples_per_prompt=2, max_new_tokens=4, learning_rate=1e-2) as trainer:
        trainer.set_verifier(lambda items: [float(i % 2) for i in range(len(items))])
        trainer.step(["12+34=", "7+8="], ["46", "15"])
        trainer.save(sys.argv[2])
else:
    policy.save(sys.argv[2])
