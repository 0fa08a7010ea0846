"""Check by hand that `peft` reads LoRA adapters saved by libscore as the same adapters.

Through the Python binding, loads a base folder (default: pretrained/llama_tied), trains LoRA
adapters on it for a few SCoRe steps with a large learning rate (so they move the logits), saves
them with Policy.save_adapter, then loads the base with `transformers` and the adapters with
`peft.PeftModel.from_pretrained`, runs the same ids and prints the largest difference between the
two models' logits relative to the largest logit (the measure of the Swift parity tests, which
require < 1e-4). Exits with status 1 above that bound.

    LIBSCORE_PATH=.build/release/libscore.so PYTHONPATH=bindings/python \\
        python3 Tests/ScoreEngineTests/Fixtures/check_saved_adapter.py [BASE_FOLDER]

Not run by the test suite (it needs torch, transformers and peft).
"""

import os
import sys
import tempfile

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM

import libscore

HERE = os.path.dirname(os.path.abspath(__file__))
TOLERANCE = 1e-4


def main():
    base = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "pretrained", "llama_tied")
    ids = [5, 17, 42, 99, 3, 250, 8, 61, 77, 120]
    with libscore.Policy.load(base, threads=1, instruction="Fix?") as policy, tempfile.TemporaryDirectory() as out:
        with libscore.Trainer(policy, samples_per_prompt=2, max_new_tokens=4, learning_rate=0.05,
                              lora_rank=4, lora_targets=["q", "k", "v", "o", "gate", "up", "down"]) as trainer:
            trainer.set_verifier(lambda items: [float(i % 2) for i in range(len(items))])
            for _ in range(4):
                trainer.step(["1+2=", "30+4="], ["3", "34"])
        before = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32, attn_implementation="eager").eval()
        ours = torch.tensor(policy.logits(ids))
        with torch.no_grad():
            plain = before(torch.tensor([ids])).logits[0]
        policy.save_adapter(out)
        model = PeftModel.from_pretrained(before, out).eval()
        with torch.no_grad():
            theirs = model(torch.tensor([ids])).logits[0]
    moved = (ours - plain).abs().max().item()
    error = ((ours - theirs).abs().max() / theirs.abs().max()).item()
    print(f"{base}: adapters move the logits by up to {moved:.4f}; libscore vs peft relative difference {error:.2e}")
    return 0 if error < TOLERANCE and moved > 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
