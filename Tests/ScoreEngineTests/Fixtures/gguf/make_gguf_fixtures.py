"""Make the GGUF fixtures of the ScoreEngine tests (run from anywhere; writes next to this file).

Needs numpy, gguf, tokenizers, torch and transformers (with gguf support). Deterministic for a
given version of those packages.

What it writes:

    metadata.gguf           one metadata value of each of the 13 value types, a nested array,
                            general.alignment 64 and two small F32 tensors
    dequant.gguf            one tensor per supported type, named after it ("Q4_K", ...), 2 x 512
                            values; F32/F16/BF16/Q8_0/Q4_0/Q4_1/Q5_0/Q5_1 quantized from random
                            floats with gguf's own quantize, Q4_K/Q5_K/Q6_K random blocks (gguf
                            cannot quantize K-quants) with finite f16 scales
    tokenizer-<pre>.gguf    tokenizer-only files: a byte-level BPE trained here (the `tokenizers`
                            library), its control tokens, stored as llama.cpp's converter stores it
                            (tokens, token types, "a b" merges, bos/eos/pad), with tokenizer.ggml.pre
                            = gpt-2, smollm, llama-bpe or qwen2
    llama.gguf, qwen2.gguf  tiny random models (llama: GQA, tied, Q/K rows permuted as llama.cpp's
                            converter does; qwen2: q/k/v biases, separate output) in a mix of types
                            (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, F16, BF16, Q4_K, Q5_K, Q6_K, F32), with
                            the smollm tokenizer above and a ChatML chat template
    expected.safetensors    what the tests compare against:
                              dequant.<TYPE>      gguf.quants.dequantize of each dequant.gguf tensor
                              <model>.input_ids   I64 [2, 10]
                              <model>.logits      F32 [2, 10, vocab]: transformers'
                                                  from_pretrained(gguf_file=...) on input_ids
    tokenizer.json          texts and, per pre-tokenizer, the ids `tokenizers` gives for each text
                            with the tokenizer.json of the original model kind (encode(text,
                            add_special_tokens=False))
"""

import json
import os
import tempfile

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from safetensors.numpy import save_file
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, normalizers, trainers, Regex

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261130)

GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
          "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")

TEXTS = [
    "What is 17*23? The answer is 391.",
    "  leading spaces, tabs\tand\nnew lines\n\n",
    "I'm sure they'll say it's fine, don't you think?",
    "Café naïve résumé façade Ångström",
    "你好，世界！这是一个测试。",
    "Emoji: 😀👍🏽🇺🇸 and ❤️",
    "Numbers 12345 and 3.14159 and 1,000,000",
    "<|im_start|>user\nhi<|im_end|>",
]


# ---------------------------------------------------------------- dequantization

def k_quant_blocks(qtype, n_blocks):
    """Random K-quant blocks with finite f16 scales."""
    size = gguf.GGML_QUANT_SIZES[qtype][1]
    blocks = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint8)
    scales = rng.uniform(0.001, 0.05, size=(n_blocks, 2)).astype(np.float16).view(np.uint8)
    if qtype == T.Q6_K:
        blocks[:, -2:] = scales[:, :2]  # d is last
    else:
        blocks[:, :4] = scales  # d, dmin first
    return blocks


def quantized(qtype, values):
    """The bytes of `values` ([rows, cols]) in `qtype`, shaped [rows, bytes per row]."""
    if qtype in (T.Q4_K, T.Q5_K, T.Q6_K):
        rows, cols = values.shape
        return k_quant_blocks(qtype, rows * cols // 256).reshape(rows, -1)
    return gguf.quants.quantize(values, qtype)


def write_dequant(expected):
    writer = gguf.GGUFWriter(os.path.join(HERE, "dequant.gguf"), "llama")
    for qtype in [T.F32, T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q4_K, T.Q5_K, T.Q6_K]:
        values = rng.standard_normal((2, 512)).astype(np.float32)
        data = quantized(qtype, values)
        if qtype == T.F32:
            writer.add_tensor(qtype.name, data)
        else:
            writer.add_tensor(qtype.name, data, raw_dtype=qtype)
        expected["dequant." + qtype.name] = gguf.quants.dequantize(data, qtype).astype(np.float32).reshape(2, 512)
    finish(writer)


def finish(writer):
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


# ---------------------------------------------------------------- metadata

def write_metadata(expected):
    V = gguf.GGUFValueType
    writer = gguf.GGUFWriter(os.path.join(HERE, "metadata.gguf"), "llama")
    writer.add_custom_alignment(64)
    for key, value, vtype in [("u8", 200, V.UINT8), ("i8", -100, V.INT8), ("u16", 60000, V.UINT16),
                              ("i16", -30000, V.INT16), ("u32", 4000000000, V.UINT32), ("i32", -2000000000, V.INT32),
                              ("f32", 1.5, V.FLOAT32), ("bool", True, V.BOOL), ("string", "héllo ✓", V.STRING),
                              ("u64", 2**63 + 5, V.UINT64), ("i64", -(2**62), V.INT64), ("f64", 0.1, V.FLOAT64)]:
        writer.add_key_value("test." + key, value, vtype)
    writer.add_key_value("test.i16s", [1, -2, 3], V.ARRAY, sub_type=V.INT16)
    writer.add_key_value("test.nested", [[1, 2], [3]], V.ARRAY)
    writer.add_key_value("test.strings", ["a", "bc"], V.ARRAY)
    for name, shape in [("a", (3, 5)), ("b", (7,))]:
        values = rng.standard_normal(shape).astype(np.float32)
        writer.add_tensor(name, values)
        expected["metadata." + name] = values
    finish(writer)


# ---------------------------------------------------------------- tokenizer

CORPUS = [
    "The quick brown fox jumps over the lazy dog. What is 17*23? It is 391. " * 3,
    "Café naïve résumé façade Ångström. I'm sure they'll say it's fine, don't you?",
    "你好，世界！这是一个测试。日本語のテキスト。Emoji 😀👍🏽🇺🇸 ❤️",
    "Numbers 12345 and 3.14159 and 1,000,000; 2 + 2 = 4, 10 - 3 = 7.",
    "def solve(x):\n    return x * 2\n\nprint(solve(21))\n",
]


def train_bpe():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=420, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS * 4, trainer)
    model = json.loads(tok.to_str())["model"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    vocab = model["vocab"]
    tokens = [None] * len(vocab)
    for token, i in vocab.items():
        tokens[i] = token
    return tokens, merges


def reference_tokenizer(tokens, merges, pre):
    """The tokenizer.json a Hugging Face model of this pre-tokenizer kind would ship."""
    vocab = {t: i for i, t in enumerate(tokens)}
    pairs = [tuple(m.split(" ")) for m in merges]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=pairs, ignore_merges=(pre == "llama-bpe")))
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=pre in ("gpt-2", "smollm"))
    if pre == "gpt-2":
        tok.pre_tokenizer = byte_level
    elif pre == "smollm":
        tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
    else:
        pattern = LLAMA3 if pre == "llama-bpe" else QWEN2
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False), byte_level])
        if pre == "qwen2":
            tok.normalizer = normalizers.NFC()
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(SPECIALS)
    return tok


def add_tokenizer(writer, tokens, merges, pre):
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types([3 if t in SPECIALS else 1 for t in tokens])
    writer.add_token_merges(merges)
    writer.add_bos_token_id(tokens.index("<|im_start|>"))
    writer.add_eos_token_id(tokens.index("<|im_end|>"))
    writer.add_pad_token_id(tokens.index("<|im_end|>"))
    writer.add_add_bos_token(False)
    writer.add_chat_template(CHATML)


def write_tokenizers(tokens, merges):
    expected = {"texts": TEXTS, "ids": {}}
    for pre in ["gpt-2", "smollm", "llama-bpe", "qwen2"]:
        writer = gguf.GGUFWriter(os.path.join(HERE, f"tokenizer-{pre}.gguf"), "llama")
        add_tokenizer(writer, tokens, merges, pre)
        finish(writer)
        reference = reference_tokenizer(tokens, merges, pre)
        expected["ids"][pre] = [reference.encode(text, add_special_tokens=False).ids for text in TEXTS]
    with open(os.path.join(HERE, "tokenizer.json"), "w") as f:
        json.dump(expected, f, ensure_ascii=False, indent=1)
        f.write("\n")


# ---------------------------------------------------------------- models

def permute(w, heads):
    """llama.cpp's converter: Hugging Face rotate-half rows to interleaved pairs."""
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def write_model(name, arch, tokens, merges, expected):
    import torch
    from transformers import AutoModelForCausalLM

    vocab, dim, ffn, layers, heads, kv = len(tokens), 64, 256, 2, 4, 2
    head_dim = dim // heads
    qwen = arch == "qwen2"
    path = os.path.join(HERE, f"{name}.gguf")
    writer = gguf.GGUFWriter(path, arch)
    writer.add_name(name)
    writer.add_context_length(64)
    writer.add_embedding_length(dim)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(ffn)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv)
    writer.add_rope_freq_base(10000.0 if qwen else 100000.0)
    writer.add_layer_norm_rms_eps(1e-6 if qwen else 1e-5)
    writer.add_rope_dimension_count(head_dim)
    writer.add_vocab_size(vocab)
    add_tokenizer(writer, tokens, merges, "qwen2" if qwen else "smollm")

    def weight(shape, scale=0.2):
        return (scale * rng.standard_normal(shape)).astype(np.float32)

    def add(tensor_name, values, qtype):
        if qtype == T.F32:
            writer.add_tensor(tensor_name, values)
        else:
            writer.add_tensor(tensor_name, quantized(qtype, values), raw_dtype=qtype)

    add("token_embd.weight", weight((vocab, dim), 0.5), T.Q8_0)
    add("output_norm.weight", (1 + 0.1 * rng.standard_normal(dim)).astype(np.float32), T.F32)
    if qwen:
        add("output.weight", weight((vocab, dim)), T.Q6_K if dim % 256 == 0 else T.Q5_1)
    k_types = [T.Q4_K, T.Q5_K] if not qwen else [T.Q6_K, T.Q4_K]
    for l in range(layers):
        p = f"blk.{l}."
        q, k = weight((heads * head_dim, dim)), weight((kv * head_dim, dim))
        if not qwen:
            q, k = permute(q, heads), permute(k, kv)
        add(p + "attn_norm.weight", (1 + 0.1 * rng.standard_normal(dim)).astype(np.float32), T.F32)
        add(p + "ffn_norm.weight", (1 + 0.1 * rng.standard_normal(dim)).astype(np.float32), T.F32)
        add(p + "attn_q.weight", q, T.Q4_0)
        add(p + "attn_k.weight", k, T.Q4_1)
        add(p + "attn_v.weight", weight((kv * head_dim, dim)), T.Q5_0)
        add(p + "attn_output.weight", weight((dim, heads * head_dim)), T.Q5_1)
        add(p + "ffn_gate.weight", weight((ffn, dim)), T.F16)
        add(p + "ffn_up.weight", weight((ffn, dim)), T.BF16)
        add(p + "ffn_down.weight", weight((dim, ffn)), k_types[l])
        if qwen:
            for part, rows in [("q", heads * head_dim), ("k", kv * head_dim), ("v", kv * head_dim)]:
                add(p + f"attn_{part}.bias", (0.5 * rng.standard_normal(rows)).astype(np.float32), T.F32)
    finish(writer)

    model = AutoModelForCausalLM.from_pretrained(HERE, gguf_file=f"{name}.gguf", torch_dtype=torch.float32)
    model.eval()
    ids = rng.integers(0, vocab, size=(2, 10))
    with torch.no_grad():
        logits = model(torch.tensor(ids)).logits.numpy()
    expected[f"{name}.input_ids"] = ids.astype(np.int64)
    expected[f"{name}.logits"] = logits.astype(np.float32)
    print(f"{name}: {sum(p.numel() for p in model.parameters())} parameters, logits {logits.shape}")


def main():
    expected = {}
    write_metadata(expected)
    write_dequant(expected)
    tokens, merges = train_bpe()
    write_tokenizers(tokens, merges)
    write_model("llama", "llama", tokens, merges, expected)
    write_model("qwen2", "qwen2", tokens, merges, expected)
    save_file(expected, os.path.join(HERE, "expected.safetensors"))
    print(f"vocab {len(tokens)}, merges {len(merges)}")


if __name__ == "__main__":
    main()
