"""Eager PyTorch peer for score-bench: the same Llama-family model, timed on the same work.

Architecture (fp32, CPU): token embedding, pre-norm RMSNorm, RoPE (rotate_half convention, as in
Hugging Face Llama), grouped-query attention through torch.nn.functional.scaled_dot_product_attention,
SwiGLU MLP (down(silu(gate(x)) * up(x))), final RMSNorm, output head tied to the embedding (or a
separate matrix when the shape says tie_embeddings: false). No torch.compile: plain eager PyTorch.

Measures, for one shape of a configs.json:
  train_step_ms   median time of forward + cross-entropy (mean over train_batch x train_seq_len
                  random targets) + backward + AdamW step + zero_grad, on a random
                  [train_batch, train_seq_len] batch, after --warmup untimed steps.
  decode_tok_s    for each batch size in decode_batches: prefill decode_prompt_len random tokens
                  (untimed), then decode_new_tokens steps of greedy argmax + one-token forward over a
                  preallocated per-layer KV cache, under torch.inference_mode();
                  tokens/s = batch * decode_new_tokens / decode time, median over --decode-runs runs
                  (after one untimed run).

Prints one JSON line on stdout, e.g.
  {"train_step_ms": 123.4, "decode_tok_s": {"1": 1000.0, "16": 9000.0}, "threads": 1, "torch": "2.x"}

Usage:
  python3 peer_torch.py --configs configs.json --shape tiny --threads 1 [--steps 10] [--warmup 3]
"""

import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--configs", required=True, help="path to configs.json")
    p.add_argument("--shape", default="tiny", help="shape name in configs.json")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    p.add_argument("--steps", type=int, default=10, help="timed training steps")
    p.add_argument("--warmup", type=int, default=3, help="untimed training steps first")
    p.add_argument("--decode-runs", type=int, default=5, help="timed decode runs per batch size")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


_HAS_RMS_NORM = hasattr(F, "rms_norm")


def rms_norm(x, weight, eps):
    if _HAS_RMS_NORM:
        return F.rms_norm(x, (x.shape[-1],), weight, eps)
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rope(x, cos, sin):
    # x: [B, heads, T, head_dim]; cos, sin: [T, head_dim]
    return x * cos + rotate_half(x) * sin


def _sdpa_supports_gqa():
    try:
        q = torch.zeros(1, 2, 1, 2)
        kv = torch.zeros(1, 1, 1, 2)
        F.scaled_dot_product_attention(q, kv, kv, enable_gqa=True)
        return True
    except TypeError:
        return False


SDPA_GQA = _sdpa_supports_gqa()


def attention(q, k, v, causal):
    """q: [B, H, Tq, D]; k, v: [B, KV, Tk, D]."""
    if SDPA_GQA:
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=k.shape[1] != q.shape[1])
    rep = q.shape[1] // k.shape[1]
    if rep > 1:
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
    return F.scaled_dot_product_attention(q, k, v, is_causal=causal)


class Block(nn.Module):
    def __init__(self, dim, n_heads, n_kv_heads, hidden_dim, eps):
        super().__init__()
        self.n_heads, self.n_kv_heads = n_heads, n_kv_heads
        self.head_dim = dim // n_heads
        self.eps = eps
        self.attn_norm = nn.Parameter(torch.ones(dim))
        self.wq = nn.Linear(dim, n_heads * self.head_dim, bias=False)
        self.wk = nn.Linear(dim, n_kv_heads * self.head_dim, bias=False)
        self.wv = nn.Linear(dim, n_kv_heads * self.head_dim, bias=False)
        self.wo = nn.Linear(n_heads * self.head_dim, dim, bias=False)
        self.ffn_norm = nn.Parameter(torch.ones(dim))
        self.w_gate = nn.Linear(dim, hidden_dim, bias=False)
        self.w_up = nn.Linear(dim, hidden_dim, bias=False)
        self.w_down = nn.Linear(hidden_dim, dim, bias=False)

    def forward(self, x, cos, sin, cache=None, pos=0):
        B, T, _ = x.shape
        h = rms_norm(x, self.attn_norm, self.eps)
        q = self.wq(h).view(B, T, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.wk(h).view(B, T, self.n_kv_heads, self.head_dim).transpose(1, 2)
        v = self.wv(h).view(B, T, self.n_kv_heads, self.head_dim).transpose(1, 2)
        q = apply_rope(q, cos, sin)
        k = apply_rope(k, cos, sin)
        if cache is None:
            a = attention(q, k, v, causal=True)
        else:
            k_cache, v_cache = cache
            k_cache[:, :, pos:pos + T] = k
            v_cache[:, :, pos:pos + T] = v
            keys, values = k_cache[:, :, :pos + T], v_cache[:, :, :pos + T]
            # SDPA's is_causal mask is aligned to the top-left corner, so it is right only when the
            # queries start at position 0 (prefill). A decode step's queries sit at the end of the
            # cached prefix and may see all of it: no mask.
            a = attention(q, keys, values, causal=(pos == 0 and T > 1))
        x = x + self.wo(a.transpose(1, 2).reshape(B, T, -1))
        h = rms_norm(x, self.ffn_norm, self.eps)
        return x + self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))


class Transformer(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.dim, self.n_heads, self.n_kv_heads = s["dim"], s["n_heads"], s["n_kv_heads"]
        self.head_dim = self.dim // self.n_heads
        self.eps = s["norm_eps"]
        self.embed = nn.Embedding(s["vocab_size"], self.dim)
        self.layers = nn.ModuleList(
            Block(self.dim, self.n_heads, self.n_kv_heads, s["hidden_dim"], self.eps) for _ in range(s["n_layers"]))
        self.norm = nn.Parameter(torch.ones(self.dim))
        self.tied = bool(s.get("tie_embeddings", True))
        self.head = None if self.tied else nn.Linear(self.dim, s["vocab_size"], bias=False)
        inv_freq = 1.0 / (s["rope_theta"] ** (torch.arange(0, self.head_dim, 2, dtype=torch.float32) / self.head_dim))
        freqs = torch.outer(torch.arange(s["max_seq_len"], dtype=torch.float32), inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("cos", emb.cos(), persistent=False)
        self.register_buffer("sin", emb.sin(), persistent=False)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, tokens, caches=None, pos=0):
        T = tokens.shape[1]
        cos, sin = self.cos[pos:pos + T], self.sin[pos:pos + T]
        x = self.embed(tokens)
        for i, layer in enumerate(self.layers):
            x = layer(x, cos, sin, None if caches is None else caches[i], pos)
        x = rms_norm(x, self.norm, self.eps)
        return F.linear(x, self.embed.weight) if self.tied else self.head(x)

    def make_caches(self, batch, capacity):
        shape = (batch, self.n_kv_heads, capacity, self.head_dim)
        return [(torch.zeros(shape), torch.zeros(shape)) for _ in self.layers]


def make_optimizer(model):
    params = model.parameters()
    try:
        return torch.optim.AdamW(params, lr=1e-4, fused=True), "fused"
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(model.parameters(), lr=1e-4, foreach=True), "foreach"


def train_step_ms(s, steps, warmup, seed):
    torch.manual_seed(seed)
    model = Transformer(s).train()
    opt, kind = make_optimizer(model)
    B, T, V = s["train_batch"], s["train_seq_len"], s["vocab_size"]
    tokens = torch.randint(0, V, (B, T))
    targets = torch.randint(0, V, (B, T))
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        logits = model(tokens)
        loss = F.cross_entropy(logits.view(-1, V), targets.view(-1))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        dt = time.perf_counter() - t0
        if not math.isfinite(loss.item()):
            raise RuntimeError("non-finite loss")
        if i >= warmup:
            times.append(dt * 1000)
    return statistics.median(times), kind


def decode_tok_s(s, batch, runs, seed):
    torch.manual_seed(seed)
    model = Transformer(s).eval()
    P, N, V = s["decode_prompt_len"], s["decode_new_tokens"], s["vocab_size"]
    if P + N > s["max_seq_len"]:
        raise ValueError("decode_prompt_len + decode_new_tokens exceeds max_seq_len")
    prompt = torch.randint(0, V, (batch, P))
    rates = []
    with torch.inference_mode():
        caches = model.make_caches(batch, P + N)
        for run in range(runs + 1):
            logits = model(prompt, caches, 0)[:, -1]  # prefill, untimed
            pos = P
            t0 = time.perf_counter()
            for _ in range(N):
                nxt = logits.argmax(-1, keepdim=True)  # greedy, [batch, 1]
                logits = model(nxt, caches, pos)[:, -1]
                pos += 1
            dt = time.perf_counter() - t0
            if run >= 1:
                rates.append(batch * N / dt)
    return statistics.median(rates)


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set (only possible before any parallel work)
    with open(args.configs) as f:
        s = json.load(f)[args.shape]
    assert s["dim"] % s["n_heads"] == 0 and s["n_heads"] % s["n_kv_heads"] == 0
    step_ms, adamw = train_step_ms(s, args.steps, args.warmup, args.seed)
    decode = {str(b): round(decode_tok_s(s, b, args.decode_runs, args.seed), 1) for b in s["decode_batches"]}
    print(json.dumps({
        "train_step_ms": round(step_ms, 3),
        "decode_tok_s": decode,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "shape": args.shape,
        "adamw": adamw,
    }), flush=True)


if __name__ == "__main__":
    main()
