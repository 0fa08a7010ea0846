"""Self-correct one prompt: attempt 1, the instruction, attempt 2, and attempt 1's confidence.

    python3 self_correct.py                      # a fresh random model (the output is noise)
    python3 self_correct.py --model DIR "12+34="  # a model saved by Policy.save or score-cli
"""

import argparse

import libscore


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prompt", nargs="?", default="12+34=")
    parser.add_argument("--model", help="a saved model folder (default: random weights)")
    parser.add_argument("--gate", type=float, help="revise only below this confidence, in [0, 1]")
    parser.add_argument("--max-new-tokens", type=int, default=16)
    args = parser.parse_args()

    print(f"libscore {libscore.version()}")
    if args.model:
        policy = libscore.Policy.load(args.model)
    else:
        policy = libscore.Policy({"hidden_size": 64, "num_layers": 2, "num_heads": 4,
                                  "num_kv_heads": 2, "intermediate_size": 128}, seed=1)
    with policy:
        result = policy.self_correct(args.prompt, max_new_tokens=args.max_new_tokens,
                                     gated=args.gate is not None,
                                     gate_threshold=args.gate if args.gate is not None else None)
        print(f"prompt:     {args.prompt!r}")
        print(f"attempt 1:  {result.attempt1!r}  (confidence {result.confidence:.3f})")
        if result.revised:
            print(f"attempt 2:  {result.attempt2!r}")
        else:
            print("attempt 2:  not generated (attempt 1 was confident enough)")
        print(f"final:      {result.final_text!r}")


if __name__ == "__main__":
    main()
