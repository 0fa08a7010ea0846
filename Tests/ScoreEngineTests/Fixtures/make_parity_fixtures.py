"""Generate the Hugging Face parity fixtures used by the ScoreEngine tests.

What it makes (all in the folder this script lives in):

    llama_gqa_tied.safetensors / .json  LlamaForCausalLM, GQA (4 q heads, 2 kv heads),
                                        tied embeddings, rope_theta 1e4
    llama_untied.safetensors / .json    LlamaForCausalLM, no GQA (4/4), separate lm_head,
                                        rope_theta 5e5
    qwen2_bias.safetensors / .json      Qwen2ForCausalLM, GQA (4/2), tied embeddings,
                                        non-zero q/k/v biases, no sliding window

Each .safetensors file holds (all floats are float32):

    <param name>        every model parameter under its HF name. For tied models the
                        shared matrix appears once, as model.embed_tokens.weight
                        (there is no lm_head.weight key).
    input_ids           I64 [2, 12]
    labels              I64 [2, 12]  = input_ids with some positions set to -100
    logits              F32 [2, 12, vocab]
    loss                F32 [1]      HF causal-LM loss: logits[:, :-1] predict labels[:, 1:],
                                     mean over the positions whose label is not -100
    grad.<param name>   F32          d loss / d param, for every parameter (tied: the shared
                                     embedding's gradient once, as grad.model.embed_tokens.weight)
    greedy_ids          I64 [1, 13]  model.generate(input_ids[:1, :5], max_new_tokens=8,
                                     do_sample=False): the prompt plus 8 new tokens

The .json next to each file is model.config.to_dict() plus "architectures", a top-level
"rope_theta" (transformers 5 keeps it only under "rope_parameters") and a "fixture_note" key.

How to run (needs torch + transformers + safetensors), from this folder:

    python3 make_parity_fixtures.py

The script is deterministic for a given torch / transformers version (fixed seeds, CPU,
fp32, eager attention). It prints one summary line per fixture.
"""

import json
import os

import torch
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM
import transformers

HERE = os.path.dirname(os.path.abspath(__file__))

BATCH, SEQ = 2, 12
PROMPT_LEN, NEW_TOKENS = 5, 8

# HF's default initializer_range (0.02) makes every attention score ~0.01 at this tiny
# width, so attention is near-uniform and RoPE / softmax / GQA mistakes barely move the
# logits. A larger init range keeps the scores and logits O(1), which makes the parity
# check meaningful. (It is still plain HF random init: normal(0, initializer_range).)
INIT_RANGE = 0.2

COMMON = dict(
    vocab_size=64,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=48,
    max_position_embeddings=32,
    hidden_act="silu",
    initializer_range=INIT_RANGE,
    dtype="float32",
    # No eos / pad / bos so that generation never stops early.
    bos_token_id=None,
    eos_token_id=None,
    pad_token_id=None,
)

FIXTURES = [
    dict(
        name="llama_gqa_tied",
        seed=1234,
        cls=LlamaForCausalLM,
        config=LlamaConfig(
            **COMMON,
            num_key_value_heads=2,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
            rms_norm_eps=1e-5,
            tie_word_embeddings=True,
            attention_bias=False,
        ),
    ),
    dict(
        name="llama_untied",
        seed=2345,
        cls=LlamaForCausalLM,
        config=LlamaConfig(
            **COMMON,
            num_key_value_heads=4,
            rope_parameters={"rope_type": "default", "rope_theta": 500000.0},
            rms_norm_eps=1e-5,
            tie_word_embeddings=False,
            attention_bias=False,
        ),
    ),
    dict(
        name="qwen2_bias",
        seed=3456,
        cls=Qwen2ForCausalLM,
        config=Qwen2Config(
            **COMMON,
            num_key_value_heads=2,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
            rms_norm_eps=1e-6,
            tie_word_embeddings=True,
            use_sliding_window=False,
        ),
    ),
]


def make_labels(input_ids):
    labels = input_ids.clone()
    labels[:, :3] = -100  # first 3 positions of each row
    labels[1, -2:] = -100  # last 2 positions of the second row
    return labels


def build_model(spec):
    torch.manual_seed(spec["seed"])
    config = spec["config"]
    config._attn_implementation = "eager"
    model = spec["cls"](config).to(torch.float32)
    model.config._attn_implementation = "eager"
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                # RMSNorm weights start at 1; move them so the norm scale is really tested.
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            elif name.endswith(".bias"):
                # Qwen2 zero-initializes its q/k/v biases; make them non-zero.
                p.copy_(0.5 * torch.randn_like(p))
    model.eval()  # no dropout (there is none anyway), deterministic
    return model


def check_model(spec, model):
    cfg = model.config
    tied = cfg.tie_word_embeddings
    names = [n for n, _ in model.named_parameters()]
    if tied:
        assert model.lm_head.weight is model.model.embed_tokens.weight, "embeddings not tied"
        assert "lm_head.weight" not in names, names
    else:
        assert model.lm_head.weight.data_ptr() != model.model.embed_tokens.weight.data_ptr()
        assert "lm_head.weight" in names
    # RoPE: default rotate_half rope with the configured theta.
    theta = cfg.rope_parameters["rope_theta"]
    hd = cfg.hidden_size // cfg.num_attention_heads
    want = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    got = model.model.rotary_emb.inv_freq
    assert torch.allclose(got, want), (got, want)
    assert model.model.rotary_emb.attention_scaling == 1.0
    for name, p in model.named_parameters():
        if name.endswith(".bias"):
            assert p.abs().min() > 0, name
    if isinstance(model, Qwen2ForCausalLM):
        assert all(t == "full_attention" for t in cfg.layer_types), cfg.layer_types
        assert model.model.layers[0].self_attn.q_proj.bias is not None
    assert model.config._attn_implementation == "eager", model.config._attn_implementation


def reference_loss(logits, labels):
    """Independent check of HF's shift convention."""
    lg = logits[:, :-1].reshape(-1, logits.shape[-1])
    lb = labels[:, 1:].reshape(-1)
    return torch.nn.functional.cross_entropy(lg, lb, ignore_index=-100, reduction="mean")


def greedy_no_cache(model, prompt, n):
    ids = prompt
    with torch.no_grad():
        for _ in range(n):
            nxt = model(ids, use_cache=False).logits[:, -1].argmax(-1, keepdim=True)
            ids = torch.cat([ids, nxt], dim=1)
    return ids


def make_fixture(spec):
    model = build_model(spec)
    check_model(spec, model)
    cfg = model.config
    vocab = cfg.vocab_size

    g = torch.Generator().manual_seed(spec["seed"] + 1)
    input_ids = torch.randint(0, vocab, (BATCH, SEQ), generator=g, dtype=torch.int64)
    labels = make_labels(input_ids)

    model.zero_grad(set_to_none=True)
    out = model(input_ids, labels=labels)
    loss = out.loss
    loss.backward()
    logits = out.logits.detach().float()
    ref = reference_loss(logits, labels)
    assert torch.allclose(loss.detach(), ref, rtol=1e-6, atol=1e-6), (loss.item(), ref.item())

    tensors = {}
    for name, p in model.named_parameters():  # named_parameters() de-duplicates tied weights
        assert name not in tensors
        tensors[name] = p.detach().float().contiguous().clone()
        assert p.grad is not None, name
        tensors["grad." + name] = p.grad.detach().float().contiguous().clone()

    # Greedy decode with HF's KV-cache path; cross-check against a cache-free argmax loop.
    prompt = input_ids[:1, :PROMPT_LEN]
    with torch.no_grad():
        greedy = model.generate(
            prompt,
            attention_mask=torch.ones_like(prompt),
            max_new_tokens=NEW_TOKENS,
            min_new_tokens=NEW_TOKENS,
            do_sample=False,
            num_beams=1,
            pad_token_id=None,
            eos_token_id=None,
        )
    assert greedy.shape == (1, PROMPT_LEN + NEW_TOKENS), greedy.shape
    assert torch.equal(greedy[:, :PROMPT_LEN], prompt)
    assert torch.equal(greedy, greedy_no_cache(model, prompt, NEW_TOKENS)), "cache/no-cache mismatch"

    tensors["input_ids"] = input_ids.contiguous()
    tensors["labels"] = labels.contiguous()
    tensors["logits"] = logits.contiguous()
    tensors["loss"] = loss.detach().float().reshape(1).contiguous()
    tensors["greedy_ids"] = greedy.to(torch.int64).contiguous()

    for k, v in tensors.items():
        assert v.dtype in (torch.float32, torch.int64), (k, v.dtype)

    st_path = os.path.join(HERE, spec["name"] + ".safetensors")
    # A single metadata key: safetensors writes the metadata map in hash order, so more than
    # one key would make the bytes differ from run to run.
    save_file(tensors, st_path, metadata={"format": "pt"})
    os.chmod(st_path, 0o644)

    cfg_dict = cfg.to_dict()
    cfg_dict["architectures"] = [type(model).__name__]
    cfg_dict["rope_theta"] = cfg.rope_parameters["rope_theta"]
    cfg_dict["fixture_note"] = (
        f"Random-init {type(model).__name__} (seed {spec['seed']}, initializer_range {INIT_RANGE}, "
        "norm weights 1+0.1*randn, biases 0.5*randn where present), float32, eager attention. "
        "Keys: parameters under HF names (tied models: no lm_head.weight), input_ids, labels "
        "(-100 = ignored), logits, loss (HF shift: logits[:, :-1] predict labels[:, 1:], mean over "
        "non -100), grad.<param>, greedy_ids (generate(input_ids[:1,:5], max_new_tokens=8, greedy)). "
        f"Made with torch {torch.__version__}, transformers {transformers.__version__} "
        "by make_parity_fixtures.py."
    )
    with open(os.path.join(HERE, spec["name"] + ".json"), "w") as f:
        json.dump(cfg_dict, f, indent=2, sort_keys=True, default=str)
        f.write("\n")

    n_params = sum(p.numel() for p in model.parameters())
    size_kb = os.path.getsize(st_path) / 1024
    print(
        f"{spec['name']}: {type(model).__name__} params={n_params} tied={cfg.tie_word_embeddings} "
        f"heads={cfg.num_attention_heads}/{cfg.num_key_value_heads} "
        f"rope_theta={cfg.rope_parameters['rope_theta']:g} eps={cfg.rms_norm_eps:g} "
        f"loss={loss.item():.6f} greedy={greedy[0].tolist()} keys={len(tensors)} size={size_kb:.1f}KB"
    )


def main():
    torch.set_num_threads(1)  # reproducible reduction order
    for spec in FIXTURES:
        make_fixture(spec)


if __name__ == "__main__":
    main()
