"""PyTorch/transformers peer of one SCoRe step for `score-bench --score-step`.

Model: a Hugging Face `LlamaForCausalLM` of a configs.json shape, random init, fp32, tied
embeddings, attn_implementation="sdpa". Full fine-tuning by default; --lora-rank R wraps it with
`peft` (r=R, alpha=2R, every attention and MLP projection) and trains only the adapters.

One SCoRe step (Stage I objective, as libscore's first steps run it), on P prompts x K samples:
  1. rollout, attempt 1: `generate` with the KV cache, do_sample, temperature 1, top_k 0,
     min_new_tokens = max_new_tokens = T (the stop token is masked, so every attempt has T tokens),
     num_return_sequences = K;
  2. rollout, attempt 2: the instruction turn appended to prompt + attempt 1, then `generate` of
     T more tokens over the whole conversation (a fresh prefill: `generate` keeps no cache across
     calls);
  3. rewards from a hash of each attempt's tokens (0 or 1); returns (0, r2) per episode as in
     Stage I; leave-one-out advantages per prompt and turn;
  4. policy forward over the episodes (all the same length, so no padding) with per-token
     log-probs of the attempt tokens, reference forward under no_grad (a frozen deep copy, or the
     base with adapters disabled under LoRA), per-token k3 KL, loss = mean over episodes of the sum
     over attempt tokens of -A*logp + beta*KL (beta 1.0 on turn 1, 0.01 on turn 2), backward,
     clip_grad_norm_(1.0), AdamW step. Step 4 runs on --micro-batch episodes at a time (default 4,
     one prompt's samples) with gradients accumulated: with all 32 episodes of SmolLM2-135M at
     once the process grew past 24 GB and was killed.
Logits are computed only from the last prompt position on (`logits_to_keep`), as TRL does.

Prints one JSON line on stdout: step / rollout / phase seconds per timed step, token counts, and
peak RSS (resource.getrusage ru_maxrss) in MB.

Usage:
  python3 peer_torch_score.py --configs configs.json --shape tiny --threads 1 \
      [--runs 3] [--warmup 1] [--prompts 8] [--samples 4] [--max-new-tokens 128] \
      [--episode-spec FILE] [--lora-rank R] [--context N] [--micro-batch M]
--episode-spec: JSON {"prompts": [[ids]...], "instruction": [ids], "end_turn": id, "pad": id}, the
token ids libscore uses (score-bench writes it); without it, random prompts of 32 ids and a random
instruction of 30 ids.
"""

import argparse
import copy
import json
import math
import resource
import statistics
import time
import warnings

import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM

TARGET_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
BETA_TURN1, BETA_TURN2 = 1.0, 0.01  # Stage I: beta2 on turn 1, beta1 on turn 2 (libscore defaults)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--configs", required=True)
    p.add_argument("--shape", default="tiny")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=3, help="timed steps")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    p.add_argument("--prompts", type=int, default=8)
    p.add_argument("--samples", type=int, default=4)
    p.add_argument("--max-new-tokens", type=int, default=128)
    p.add_argument("--episode-spec", help="JSON file of prompt and instruction token ids")
    p.add_argument("--lora-rank", type=int, default=0, help="0: full fine-tuning")
    p.add_argument("--context", type=int, default=0, help="max_position_embeddings (0: the shape's)")
    p.add_argument("--micro-batch", type=int, default=4,
                   help="episodes per forward/backward pass, gradients accumulated (0: all at once)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def max_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def make_model(s, context):
    config = LlamaConfig(
        vocab_size=s["vocab_size"], hidden_size=s["dim"], intermediate_size=s["hidden_dim"],
        num_hidden_layers=s["n_layers"], num_attention_heads=s["n_heads"], num_key_value_heads=s["n_kv_heads"],
        max_position_embeddings=context or s["max_seq_len"], rope_theta=s["rope_theta"], rms_norm_eps=s["norm_eps"],
        tie_word_embeddings=bool(s.get("tie_embeddings", True)), attention_bias=bool(s.get("qkv_bias", False)))
    return LlamaForCausalLM._from_config(config, attn_implementation="sdpa", dtype=torch.float32)


def episode_spec(args, vocab):
    if args.episode_spec:
        with open(args.episode_spec) as f:
            spec = json.load(f)
        return spec["prompts"][:args.prompts], spec["instruction"], spec["end_turn"], spec["pad"]
    g = torch.Generator().manual_seed(args.seed + 1)
    prompts = torch.randint(0, vocab - 2, (args.prompts, 32), generator=g).tolist()
    instruction = torch.randint(0, vocab - 2, (30,), generator=g).tolist()
    return prompts, instruction, vocab - 1, vocab - 2


def reward(tokens):
    """A deterministic, varied 0/1 reward: a multiplicative hash of the attempt's ids."""
    h = 2166136261
    for t in tokens:
        h = ((h ^ t) * 16777619) & 0xFFFFFFFF
    return float(h >> 31)


def leave_one_out(returns, k):
    r = returns.view(-1, k)
    return (r - (r.sum(1, keepdim=True) - r) / (k - 1)).view(-1) if k > 1 else returns


def token_log_probs(model, episodes, first):
    """log p of episodes[:, first:] under model: logits from position first-1 on only."""
    logits = model(input_ids=episodes, logits_to_keep=episodes.shape[1] - first + 1).logits[:, :-1]
    targets = episodes[:, first:]
    return logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, -1)


class Step:
    """The model, its reference, the optimizer and the fixed inputs of every step."""

    def __init__(self, args, s):
        self.args = args
        torch.manual_seed(args.seed)
        base = make_model(s, args.context).train()
        prompts, instruction, self.end_turn, self.pad = episode_spec(args, s["vocab_size"])
        self.prompts = torch.tensor(prompts, dtype=torch.long)
        self.instruction = torch.tensor(instruction, dtype=torch.long)
        if args.lora_rank > 0:
            from peft import LoraConfig, get_peft_model
            lora = LoraConfig(r=args.lora_rank, lora_alpha=2 * args.lora_rank, lora_dropout=0.0,
                              target_modules=TARGET_MODULES)
            self.model = get_peft_model(base, lora)
            self.reference = None  # the base with adapters disabled
        else:
            self.model = base
            self.reference = copy.deepcopy(base).eval().requires_grad_(False)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        try:
            self.opt = torch.optim.AdamW(self.params, lr=1e-4, fused=True)
        except (RuntimeError, TypeError, ValueError):
            self.opt = torch.optim.AdamW(self.params, lr=1e-4, foreach=True)
        self.trainable = sum(p.numel() for p in self.params)

    def generate(self, inputs, samples):
        T = self.args.max_new_tokens
        with torch.no_grad():
            return self.model.generate(
                input_ids=inputs, attention_mask=torch.ones_like(inputs), do_sample=True, temperature=1.0, top_k=0,
                top_p=1.0, min_new_tokens=T, max_new_tokens=T, num_return_sequences=samples,
                eos_token_id=self.end_turn, pad_token_id=self.pad, use_cache=True)

    def reference_log_probs(self, episodes, first):
        with torch.no_grad():
            if self.reference is None:
                with self.model.disable_adapter():
                    return token_log_probs(self.model, episodes, first)
            return token_log_probs(self.reference, episodes, first)

    def run(self):
        """One SCoRe step; returns its phase times (seconds) and token counts."""
        K, T = self.args.samples, self.args.max_new_tokens
        P0 = self.prompts.shape[1]
        t0 = time.perf_counter()
        self.model.eval()  # generation as inference (no dropout in Llama anyway)
        first = self.generate(self.prompts, K)  # [P*K, P0 + T]
        t1 = time.perf_counter()
        conversation = torch.cat([first, self.instruction.expand(first.shape[0], -1)], dim=1)
        episodes = self.generate(conversation, 1)  # [P*K, P0 + T + I + T]
        t2 = time.perf_counter()
        attempt1 = episodes[:, P0:P0 + T]
        attempt2 = episodes[:, conversation.shape[1]:]
        r2 = torch.tensor([reward(a) for a in attempt2.tolist()])
        adv1 = leave_one_out(torch.zeros_like(r2), K)  # Stage I: turn-1 return 0
        adv2 = leave_one_out(r2, K)
        n, L = episodes.shape
        turn = torch.zeros(L - P0, dtype=torch.long)  # per target position from P0 on
        turn[:T] = 1
        turn[conversation.shape[1] - P0:] = 2
        advantage = torch.where(turn == 1, adv1[:, None], torch.where(turn == 2, adv2[:, None], 0.0))
        beta = torch.where(turn == 1, BETA_TURN1, torch.where(turn == 2, BETA_TURN2, 0.0))
        mask = (turn > 0).float()
        t3 = time.perf_counter()
        self.model.train()
        mb = self.args.micro_batch or n
        policy_s = reference_s = backward_s = 0.0
        loss_sum = 0.0
        for rows in (slice(i, i + mb) for i in range(0, n, mb)):
            ta = time.perf_counter()
            ref = self.reference_log_probs(episodes[rows], P0)
            tb = time.perf_counter()
            logp = token_log_probs(self.model, episodes[rows], P0)
            tc = time.perf_counter()
            d = logp - ref
            kl = torch.expm1(-d) + d  # k3
            loss = ((-advantage[rows] * logp + beta * kl) * mask).sum() / n  # chunks sum to the batch loss
            loss.backward()
            td = time.perf_counter()
            reference_s += tb - ta
            policy_s += tc - tb
            backward_s += td - tc
            loss_sum += loss.item()
        t6 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        t7 = time.perf_counter()
        if not math.isfinite(loss_sum):
            raise RuntimeError("non-finite loss")
        return {
            "step_s": t7 - t0, "rollout_s": t2 - t0, "attempt1_s": t1 - t0, "attempt2_s": t2 - t1,
            "reward_s": t3 - t2, "policy_forward_s": policy_s, "reference_forward_s": reference_s,
            "backward_s": backward_s, "clip_adamw_s": t7 - t6,
            "tokens_per_s": n * L / (t7 - t0), "episode_tokens": n * L, "prompt_tokens": n * P0, "instruction_tokens": n * self.instruction.numel(),
            "attempt1_tokens": attempt1.numel(), "attempt2_tokens": attempt2.numel(),
            "reward_mean_t2": r2.mean().item(),
        }


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    transformers.logging.set_verbosity_error()
    warnings.filterwarnings("ignore", category=FutureWarning)
    with open(args.configs) as f:
        s = json.load(f)[args.shape]
    rss_after_import = max_rss_mb()
    step = Step(args, s)
    for _ in range(args.warmup):
        step.run()
    runs = [step.run() for _ in range(args.runs)]
    result = {key: [r[key] for r in runs] for key in runs[0]}
    result.update({
        "median": {key: statistics.median(v) for key, v in result.items()},
        "max_rss_mb": max_rss_mb(), "rss_after_import_mb": rss_after_import,
        "trainable_parameters": step.trainable, "lora_rank": args.lora_rank, "micro_batch": args.micro_batch,
        "threads": torch.get_num_threads(), "torch": torch.__version__, "transformers": transformers.__version__,
    })
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
