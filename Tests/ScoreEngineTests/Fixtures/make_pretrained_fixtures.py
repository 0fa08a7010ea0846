"""Generate the Hugging Face model-folder fixtures used by PretrainedFolderTests.

Each fixture is a random-init model written with `save_pretrained` into
`pretrained/NAME/` (config.json, weights, generation_config.json), plus
`pretrained/NAME.expected.safetensors` with what `transformers` computes from that folder:

    input_ids   I64 [40]        random token ids
    logits      F32 [40, 300]   model(input_ids[None]).logits[0], eager attention, float32
    greedy_ids  I64 [40]        generate(input_ids[None, :8], max_new_tokens=32, do_sample=False)
                                with no eos: the 8 prompt ids then 32 new ids
    inv_freq    F32 [head_dim/2] the rotary inverse frequencies (after llama3 scaling)

The folders:

    llama_tied          LlamaForCausalLM, GQA 4/2, tied embeddings, rope_theta 1e4, F32,
                        one model.safetensors; its generation_config.json carries sampling
                        defaults (bos, a list of eos ids, temperature, top_p, top_k, do_sample)
    llama3_scaled       LlamaForCausalLM, GQA 4/2, untied, rope_type llama3 (factor 4,
                        low_freq_factor 1, high_freq_factor 4, original_max_position_embeddings
                        32), F32, one model.safetensors
    qwen2_sharded_bf16  Qwen2ForCausalLM, GQA 4/2, untied, q/k/v biases, rope_theta 1e6, BF16,
                        sharded (model-0000N-of-0000M.safetensors + model.safetensors.index.json)
    mistral_f16         MistralForCausalLM, GQA 4/2, untied, head_dim 32 (not hidden/heads),
                        sliding_window 128 (= max_position_embeddings, so never in effect), F16

Reduced-precision folders are compared against `transformers` running in float32 on the stored
(rounded) weights, so the expected values are exactly what a float32 engine loading the folder
should produce.

Common shape: vocab 300, hidden 64, 2 layers, 4 query heads, intermediate 128, max positions 128,
initializer_range 0.2 (attention far from uniform), RMSNorm weights 1 + 0.1*randn, biases
0.5*randn. The script asserts that every greedy step's top-two logits differ by a margin, that
generate (KV cache) agrees with a cache-free argmax loop, and that reloading each folder with
`from_pretrained` reproduces the logits.

Run from this folder with torch, transformers (5.x) and safetensors installed:

    python3 make_pretrained_fixtures.py
"""

import copy
import os
import shutil

import torch
import transformers
from safetensors.torch import save_file
from transformers import (
    AutoModelForCausalLM,
    GenerationConfig,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "pretrained")

SEQ = 40
PROMPT_LEN, NEW_TOKENS = 8, 32
INIT_RANGE = 0.2
MIN_MARGIN = 1e-3  # smallest accepted gap between the two best logits at a greedy step

COMMON = dict(
    vocab_size=300,
    hidden_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    intermediate_size=128,
    max_position_embeddings=128,
    hidden_act="silu",
    initializer_range=INIT_RANGE,
    bos_token_id=None,
    eos_token_id=None,
    pad_token_id=None,
)

FIXTURES = [
    dict(
        name="llama_tied",
        seed=4101,
        cls=LlamaForCausalLM,
        dtype=torch.float32,
        config=lambda: LlamaConfig(
            **COMMON,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
            rms_norm_eps=1e-5,
            tie_word_embeddings=True,
        ),
        generation=dict(bos_token_id=1, eos_token_id=[2, 7], pad_token_id=0, do_sample=True,
                        temperature=0.6, top_p=0.9, top_k=20),
    ),
    dict(
        name="llama3_scaled",
        seed=4202,
        cls=LlamaForCausalLM,
        dtype=torch.float32,
        config=lambda: LlamaConfig(
            **COMMON,
            rope_parameters={
                "rope_type": "llama3",
                "rope_theta": 10000.0,
                "factor": 4.0,
                "low_freq_factor": 1.0,
                "high_freq_factor": 4.0,
                "original_max_position_embeddings": 32,
            },
            rms_norm_eps=1e-5,
            tie_word_embeddings=False,
        ),
    ),
    dict(
        name="qwen2_sharded_bf16",
        seed=4303,
        cls=Qwen2ForCausalLM,
        dtype=torch.bfloat16,
        shard="60KB",
        config=lambda: Qwen2Config(
            **COMMON,
            rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
            rms_norm_eps=1e-6,
            tie_word_embeddings=False,
            use_sliding_window=False,
        ),
    ),
    dict(
        name="mistral_f16",
        seed=4404,
        cls=MistralForCausalLM,
        dtype=torch.float16,
        config=lambda: MistralConfig(
            **COMMON,
            head_dim=32,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
            rms_norm_eps=1e-5,
            tie_word_embeddings=False,
            sliding_window=128,
        ),
    ),
]


def build_model(spec):
    torch.manual_seed(spec["seed"])
    config = spec["config"]()
    config._attn_implementation = "eager"
    model = spec["cls"](config).to(torch.float32)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            elif name.endswith(".bias"):
                p.copy_(0.5 * torch.randn_like(p))
        # Round to the stored precision, so that the float32 reference sees the stored values.
        for p in model.parameters():
            p.copy_(p.to(spec["dtype"]).to(torch.float32))
    model.eval()
    return model


def check_rope(spec, model):
    rope = model.config.rope_parameters
    inv = model.model.rotary_emb.inv_freq
    head_dim = getattr(model.config, "head_dim", None) or model.config.hidden_size // model.config.num_attention_heads
    theta = rope["rope_theta"]
    plain = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    if rope["rope_type"] == "llama3":
        # The scaling must change some frequencies (divided by factor) and keep others.
        assert torch.equal(inv[0], plain[0]), "highest frequency should be unchanged"
        assert torch.allclose(inv[-1], plain[-1] / rope["factor"]), "lowest frequency should be divided"
        assert not torch.allclose(inv, plain)
    else:
        assert torch.allclose(inv, plain), (inv, plain)
    assert model.model.rotary_emb.attention_scaling == 1.0


def greedy(model, prompt):
    ids = prompt
    margins = []
    with torch.no_grad():
        for _ in range(NEW_TOKENS):
            logits = model(ids, use_cache=False).logits[0, -1]
            top = torch.topk(logits, 2).values
            margins.append((top[0] - top[1]).item())
            ids = torch.cat([ids, logits.argmax().reshape(1, 1)], dim=1)
    return ids, min(margins)


def make_fixture(spec):
    model = build_model(spec)
    check_rope(spec, model)
    vocab = model.config.vocab_size
    g = torch.Generator().manual_seed(spec["seed"] + 1)
    input_ids = torch.randint(0, vocab, (1, SEQ), generator=g, dtype=torch.int64)
    with torch.no_grad():
        logits = model(input_ids).logits[0].float().contiguous()

    prompt = input_ids[:, :PROMPT_LEN]
    expected, margin = greedy(model, prompt)
    assert margin > MIN_MARGIN, f"{spec['name']}: greedy top-2 margin {margin} too small; change the seed"
    with torch.no_grad():
        cached = model.generate(
            prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=NEW_TOKENS,
            do_sample=False, num_beams=1, eos_token_id=None, pad_token_id=None,
        )
    assert torch.equal(cached, expected), "generate and the cache-free loop disagree"

    folder = os.path.join(OUT, spec["name"])
    shutil.rmtree(folder, ignore_errors=True)
    stored = copy.deepcopy(model).to(spec["dtype"])
    stored.save_pretrained(folder, max_shard_size=spec.get("shard", "50GB"))
    generation = GenerationConfig(**spec.get("generation", {}))
    generation.save_pretrained(folder)
    for name in os.listdir(folder):
        os.chmod(os.path.join(folder, name), 0o644)

    # The folder as transformers reads it back must give the same logits.
    reloaded = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager")
    with torch.no_grad():
        again = reloaded(input_ids).logits[0]
    assert torch.equal(again, logits), (again - logits).abs().max()

    path = os.path.join(OUT, spec["name"] + ".expected.safetensors")
    save_file(
        {"input_ids": input_ids[0].contiguous(), "logits": logits, "greedy_ids": expected[0].contiguous(),
         "inv_freq": model.model.rotary_emb.inv_freq.float().contiguous()},
        path, metadata={"format": "pt"},
    )
    os.chmod(path, 0o644)
    size = sum(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder)) / 1024
    print(f"{spec['name']}: {type(model).__name__} files={sorted(os.listdir(folder))} size={size:.0f}KB "
          f"greedy margin={margin:.4f} greedy={expected[0, PROMPT_LEN:].tolist()}")


def main():
    torch.set_num_threads(1)
    transformers.utils.logging.disable_progress_bar()
    os.makedirs(OUT, exist_ok=True)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}")
    for spec in FIXTURES:
        make_fixture(spec)


if __name__ == "__main__":
    main()
