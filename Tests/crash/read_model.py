"""Prints a fingerprint of the model folder (or trainer state, with argv[2] == "state") at
argv[1]: its logits on a probe, or "refused" when it does not load."""
import sys

import libscore

try:
    if len(sys.argv) > 2 and sys.argv[2] == "state":
        policy = libscore.Policy.load(sys.argv[1] + "/policy")
        libscore.Trainer.resume(policy, sys.argv[1]).close()  # loads the saved weights into policy
    else:
        policy = libscore.Policy.load(sys.argv[1])
except libscore.ScoreError:
    print("refused")
    sys.exit(0)
print(" ".join(f"{x:.5f}" for x in policy.logits(policy.tokenize("12+34="))[-1][:16]))
