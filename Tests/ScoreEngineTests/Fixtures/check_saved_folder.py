"""Check by hand that `transformers` reads a model folder saved by libscore as the same model.

Each folder given (or, for a parent folder, each sub-folder holding a `libscore_logits.json`)
must hold what libscore's `Transformer.save(to:)` writes plus a `libscore_logits.json`:

    {"input_ids": [t0, t1, ...], "logits": [[...vocab floats...], ...]}   # one row per token

The script loads the folder with `AutoModelForCausalLM.from_pretrained` (float32, eager
attention), runs the same ids and prints, per folder, the class transformers built, the largest
absolute difference and the difference relative to the largest logit (the measure the Swift
parity tests use, which require < 1e-4). It exits with status 1 when a folder is over that bound.

The test suite writes such folders when SCORE_EXPORT_SAVED_FOLDERS names a directory:

    SCORE_EXPORT_SAVED_FOLDERS=saved-folders swift test --filter savedFolderReloadsWithIdenticalLogits
    python3 check_saved_folder.py saved-folders

Not run by the test suite (it needs torch and transformers).
"""

import json
import os
import sys

import torch
import transformers
from transformers import AutoModelForCausalLM

LOGITS_FILE = "libscore_logits.json"
TOLERANCE = 1e-4


def folders(paths):
    for path in paths:
        if os.path.isfile(os.path.join(path, LOGITS_FILE)):
            yield path
        else:
            for name in sorted(os.listdir(path)):
                child = os.path.join(path, name)
                if os.path.isfile(os.path.join(child, LOGITS_FILE)):
                    yield child


def check(folder):
    with open(os.path.join(folder, LOGITS_FILE)) as f:
        saved = json.load(f)
    ids = torch.tensor([saved["input_ids"]], dtype=torch.int64)
    ours = torch.tensor(saved["logits"], dtype=torch.float32)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    with torch.no_grad():
        theirs = model(ids).logits[0].float()
    worst = (ours - theirs).abs().max().item()
    relative = worst / max(theirs.abs().max().item(), 1e-12)
    same_argmax = torch.equal(ours.argmax(-1), theirs.argmax(-1))
    ok = ours.shape == theirs.shape and relative < TOLERANCE
    print(f"{os.path.basename(folder)}: {type(model).__name__} positions={ids.shape[1]} vocab={theirs.shape[-1]} "
          f"max|diff|={worst:.3e} relative={relative:.3e} argmax equal={same_argmax} {'OK' if ok else 'FAIL'}")
    return ok


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    torch.set_num_threads(1)
    transformers.utils.logging.disable_progress_bar()
    print(f"torch {torch.__version__}, transformers {transformers.__version__}")
    found = list(folders(argv[1:]))
    if not found:
        print(f"no folder with {LOGITS_FILE} under {argv[1:]}")
        return 2
    results = [check(folder) for folder in found]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
