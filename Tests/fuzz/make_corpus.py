"""Writes the seed corpus of the fuzz targets (Tests/fuzz/corpus/<target>/): a handful of small,
valid inputs per target, a few KB in all per target. Standard library only; deterministic.

    python3 Tests/fuzz/make_corpus.py

Taken from the test fixtures (Tests/ScoreEngineTests/Fixtures): the config.json files of
pretrained/, the tokenizer_config.json files of chat/, the chat templates of chat_templates/ and
metadata.gguf. Written here: safetensors files of each dtype, small tokenizer.json files of each
pre-tokenizer kind, problem lists, trainer.json states (one with boundary values), a tiny llama GGUF model (F16 weights, an
embedded gpt2-style tokenizer and a ChatML template) and a GGUF of one block of every quantized type.
"""

import json
import os
import random
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "ScoreEngineTests", "Fixtures")
CORPUS = os.path.join(HERE, "corpus")
rng = random.Random(20261130)

GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
          "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def write(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def fixture(*parts):
    with open(os.path.join(FIXTURES, *parts), "rb") as f:
        return f.read()


def byte_char(b):
    """GPT-2's byte-level stand-in character of byte b."""
    if 33 <= b <= 126 or 161 <= b <= 172 or 174 <= b <= 255:
        return chr(b)
    extras = [x for x in range(256) if not (33 <= x <= 126 or 161 <= x <= 172 or 174 <= x <= 255)]
    return chr(256 + extras.index(b))


# ---------------------------------------------------------------- safetensors

def safetensors(tensors, metadata=None, pad=True):
    """tensors: (name, dtype, shape, raw bytes); the header padded with spaces to 8 bytes, as written."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = compact(header).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def floats(fmt, values):
    return b"".join(struct.pack("<" + fmt, v) for v in values)


def make_safetensors():
    write("safetensors", "f32_metadata.safetensors", safetensors(
        [("model.embed_tokens.weight", "F32", [2, 3], floats("f", [0.5, -1, 2, 0, 1e-3, 3.25])),
         ("model.norm.weight", "F32", [3], floats("f", [1, 1, 1]))],
        metadata={"format": "pt"}))
    write("safetensors", "half_types.safetensors", safetensors(
        [("h", "F16", [2, 2], floats("e", [1.0, -2.0, 0.0, 65504.0])),
         ("b", "BF16", [3], struct.pack("<3H", 0x3F80, 0xC000, 0x7F80)),
         ("scalar", "F32", [], floats("f", [7.0])),
         ("empty", "F16", [0, 4], b"")]))
    write("safetensors", "ints.safetensors", safetensors(
        [("input_ids", "I64", [1, 3], struct.pack("<3q", 1, -2, 3)),
         ("mask", "I32", [2], struct.pack("<2i", 1, 0))], pad=False))
    write("safetensors", "optimizer.safetensors", safetensors(
        [("adam.m", "F32", [4], floats("f", [0, 0.1, 0.2, 0.3])),
         ("adam.v", "F32", [4], floats("f", [0, 0.01, 0.04, 0.09]))],
        metadata={}))


# ---------------------------------------------------------------- JSON files

def make_json_files():
    for name in ["llama3_scaled", "llama_tied", "mistral_f16", "qwen2_sharded_bf16"]:
        write("config_json", name + ".json", fixture("pretrained", name, "config.json"))

    for name in ["llama3", "qwen2", "smollm2"]:
        write("tokenizer_config", name + ".json", fixture("chat", name, "tokenizer_config.json"))
    write("tokenizer_config", "named_templates.json", compact({
        "chat_template": [{"name": "tool_use", "template": "{{ tools }}"}, {"name": "default", "template": CHATML}],
        "bos_token": {"content": "<s>", "lstrip": False}, "eos_token": "<|im_end|>", "pad_token": None,
        "unk_token": {"content": "<unk>"}, "add_bos_token": True}))

    for name in ["llama-3", "smollm2", "gemma-2", "phi-3", "deepseek-llm-chat"]:
        entry = json.loads(fixture("chat_templates", "templates", name + ".json"))
        write("chat_template", name + ".jinja", entry["chat_template"])
    # Constructs real templates use beyond the ones above: macros, namespaces, filters, tests,
    # slicing, string methods, loop variables, whitespace control, raise_exception.
    write("chat_template", "constructs.jinja", (
        "{%- macro turn(role, text) -%}<|{{ role }}|>{{ text | trim }}<|end|>\n{%- endmacro -%}\n"
        "{%- set ns = namespace(system='', count=0) -%}\n"
        "{%- for m in messages if m.role != 'tool' -%}\n"
        "  {%- if loop.first and m['role'] == 'system' %}{% set ns.system = m.content %}{% continue %}{% endif -%}\n"
        "  {%- set ns.count = ns.count + 1 -%}\n"
        "  {%- if m.role not in ['user', 'assistant'] %}{{ raise_exception('bad role ' ~ m.role) }}{% endif -%}\n"
        "  {{ turn(m.role, m.content.replace('\\r', '')[:200]) }}\n"
        "{%- endfor -%}\n"
        "{%- if add_generation_prompt is defined and add_generation_prompt %}<|assistant|>{% endif -%}\n"
        "{#- {{ ns.count }} {{ messages | length }} {{ ns.system | tojson }} {{ range(3) | list | join(',') }} -#}\n"
        "{{- '' if ns.system is none else '' -}}{{ strftime_now('%d %b %Y')[:0] }}"))

    write("jsonl_problems", "two.jsonl",
          '{"prompt": "What is 2+2?", "reference": "4"}\n{"prompt": "Capital of France?", "reference": "Paris", "id": 7}\n')
    write("jsonl_problems", "blank_lines.jsonl",
          '\n  \n{"reference":"x\\u00e9\\n","prompt":"Say \\"x\\u00e9\\"\\t😀"}\r\n\n{"prompt":"","reference":""}')

    base = {"formatVersion": 1, "libraryVersion": "0.1.0", "completedSteps": 3, "optimizerStep": 3,
            "generator": {"state": [1, 2, 3, 4]}, "options": {}, "problemCount": 2,
            "problemsFingerprint": "0123456789abcdef"}
    write("trainer_json", "minimal.json", compact(base))
    full = dict(base)
    full["options"] = {
        "promptsPerStep": 4, "samplesPerPrompt": 2, "secondAttemptsPerFirst": 2, "temperature": 1,
        "firstAttemptTemperature": 0.5, "maxNewTokens": 8, "learningRate": 0.0001,
        "adamW": {"learningRate": 0.0001, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-08, "weightDecay": 0},
        "gradientClipNorm": 1, "objective": {"beta1": 0.01, "beta2": 1, "alpha": 10, "shaping": "progress",
                                             "klEstimator": "k3", "baseline": "leaveOneOut",
                                             "turn2StateBaseline": True},
        "plan": {"score": {"stageI": 2, "stageII": 3, "rounds": 2}}, "seed": 7, "microBatch": 4,
        "memoryBudget": 1073741824, "lora": {"rank": 4, "alpha": 8, "targets": ["q_proj", "v_proj"]}}
    write("trainer_json", "full.json", json.dumps(full, indent=2, sort_keys=True))
    single = dict(base)
    single["options"] = {"plan": {"singleTurn": {"steps": 10}}, "objective": {"klEstimator": "k1InReward"}}
    write("trainer_json", "single_turn.json", compact(single))
    # Boundary values a saved state can hold (valid: every sum and product still fits in Int).
    large = dict(base, completedSteps=2**62 - 1, optimizerStep=2**63 - 1, problemCount=2**63 - 1)
    large["generator"] = {"state": [2**64 - 1, 0, 0, 1]}
    large["options"] = {"promptsPerStep": 2**62, "samplesPerPrompt": 2**31, "secondAttemptsPerFirst": 2**31 - 1,
                        "maxNewTokens": 2**63 - 1, "seed": 2**64 - 1, "memoryBudget": 2**63 - 1, "microBatch": 1,
                        "plan": {"score": {"stageI": 2**61, "stageII": 2**61 - 1, "rounds": 1}}}
    write("trainer_json", "large_values.json", compact(large))


# ---------------------------------------------------------------- tokenizer.json

def tokenizer_json(letters, merges, pre_tokenizer, added=(), normalizer=None, post_processor=None, **model):
    vocab = {}
    for ch in letters:
        vocab.setdefault(ch, len(vocab))
    for left, right in merges:
        vocab.setdefault(left + right, len(vocab))
    tokens = []
    for i, (content, special, extra) in enumerate(added):
        entry = {"id": len(vocab) + i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
                 "normalized": not special, "special": special}
        entry.update(extra)
        tokens.append(entry)
    model_json = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]}
    model_json.update(model)
    return compact({"version": "1.0", "truncation": None, "padding": None, "added_tokens": tokens,
                    "normalizer": normalizer, "pre_tokenizer": pre_tokenizer, "post_processor": post_processor,
                    "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                                "use_regex": True},
                    "model": model_json})


def make_tokenizers():
    space, newline = byte_char(32), byte_char(10)
    letters = list("abcdehilnorstw") + [space, newline, "'", ",", "!", "1", "2", "3", byte_char(0xC3), byte_char(0xA9)]
    merges = [("h", "e"), ("l", "l"), (space, "w"), ("he", "ll"), ("o", "r"), (space + "w", "or")]

    def split(pattern):
        return {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False}

    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    write("tokenizer_json", "gpt2.json", tokenizer_json(
        letters, merges, byte_level, added=[("<|endoftext|>", True, {})]))
    write("tokenizer_json", "llama3.json", tokenizer_json(
        letters, merges,
        {"type": "Sequence", "pretokenizers": [split(LLAMA3), dict(byte_level, use_regex=False)]},
        added=[("<|begin_of_text|>", True, {}), ("<|eot_id|>", True, {})],
        post_processor={"type": "TemplateProcessing",
                        "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                                   {"Sequence": {"id": "A", "type_id": 0}}],
                        "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [len(letters) + len(merges)],
                                                                 "tokens": ["<|begin_of_text|>"]}}},
        ignore_merges=True))
    write("tokenizer_json", "qwen2.json", tokenizer_json(
        letters, merges,
        {"type": "Sequence", "pretokenizers": [split(QWEN2), dict(byte_level, use_regex=False)]},
        added=[("<|im_start|>", True, {}), ("<|im_end|>", True, {}), ("<tool_call>", False, {"normalized": False})],
        normalizer={"type": "NFC"}))
    pairs = json.loads(tokenizer_json(
        letters, merges,
        {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True}, byte_level]},
        added=[("<unk>", True, {}), ("[MASK]", False, {"lstrip": True, "rstrip": True, "single_word": True}),
               ("hello", False, {"normalized": True})],
        unk_token="a", fuse_unk=True))
    pairs["model"]["merges"] = [[a, b] for a, b in merges]
    write("tokenizer_json", "digits_options.json", compact(pairs))


# ---------------------------------------------------------------- GGUF

GGUF_TYPES = {"u8": 0, "i8": 1, "u16": 2, "i16": 3, "u32": 4, "i32": 5, "f32": 6, "bool": 7, "str": 8, "arr": 9,
              "u64": 10, "i64": 11, "f64": 12}
SCALAR_FORMATS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


def gguf_string(text):
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def gguf_value(kind, value):
    code = GGUF_TYPES[kind]
    if code == 8:
        return gguf_string(value)
    return struct.pack("<" + SCALAR_FORMATS[code], value)


def gguf_kv(key, kind, value):
    if kind.startswith("arr:"):
        element = kind[4:]
        body = struct.pack("<IQ", GGUF_TYPES[element], len(value)) + b"".join(gguf_value(element, v) for v in value)
        return gguf_string(key) + struct.pack("<I", 9) + body
    return gguf_string(key) + struct.pack("<I", GGUF_TYPES[kind]) + gguf_value(kind, value)


def gguf(metadata, tensors, alignment=32):
    """metadata: (key, kind, value); tensors: (name, dims innermost first, ggml type, raw bytes)."""
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata))
    out += b"".join(gguf_kv(*kv) for kv in metadata)
    offset, data = 0, b""
    for name, dims, ggml_type, raw in tensors:
        out += gguf_string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", ggml_type, offset)
        data += raw + b"\0" * (-len(raw) % alignment)
        offset = len(data)
    out += b"\0" * (-len(out) % alignment)
    return out + data


def f16(values):
    return b"".join(struct.pack("<e", v) for v in values)


def make_gguf():
    write("gguf", "metadata.gguf", fixture("gguf", "metadata.gguf"))

    space, newline = byte_char(32), byte_char(10)
    tokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "a", "h", "i", "s", "t", space, newline, "hi", "ha"]
    types = [3, 3, 3] + [1] * (len(tokens) - 3)
    dim, hidden, heads, kv_heads, vocab = 8, 8, 2, 1, len(tokens)
    head_dim = dim // heads

    def weights(*dims):
        n = 1
        for d in dims:
            n *= d
        return f16([round(rng.uniform(-1, 1), 3) for _ in range(n)])

    F16 = 1
    tensors = [("token_embd.weight", [dim, vocab], F16, weights(dim, vocab)),
               ("blk.0.attn_norm.weight", [dim], F16, f16([1.0] * dim)),
               ("blk.0.attn_q.weight", [dim, heads * head_dim], F16, weights(dim, heads * head_dim)),
               ("blk.0.attn_k.weight", [dim, kv_heads * head_dim], F16, weights(dim, kv_heads * head_dim)),
               ("blk.0.attn_v.weight", [dim, kv_heads * head_dim], F16, weights(dim, kv_heads * head_dim)),
               ("blk.0.attn_output.weight", [heads * head_dim, dim], F16, weights(heads * head_dim, dim)),
               ("blk.0.ffn_norm.weight", [dim], F16, f16([1.0] * dim)),
               ("blk.0.ffn_gate.weight", [dim, hidden], F16, weights(dim, hidden)),
               ("blk.0.ffn_up.weight", [dim, hidden], F16, weights(dim, hidden)),
               ("blk.0.ffn_down.weight", [hidden, dim], F16, weights(hidden, dim)),
               ("output_norm.weight", [dim], F16, f16([1.0] * dim))]
    metadata = [("general.architecture", "str", "llama"),
                ("llama.context_length", "u32", 32), ("llama.embedding_length", "u32", dim),
                ("llama.block_count", "u32", 1), ("llama.feed_forward_length", "u32", hidden),
                ("llama.attention.head_count", "u32", heads), ("llama.attention.head_count_kv", "u32", kv_heads),
                ("llama.rope.freq_base", "f32", 10000.0), ("llama.attention.layer_norm_rms_epsilon", "f32", 1e-5),
                ("tokenizer.ggml.model", "str", "gpt2"), ("tokenizer.ggml.pre", "str", "smollm"),
                ("tokenizer.ggml.tokens", "arr:str", tokens), ("tokenizer.ggml.token_type", "arr:i32", types),
                ("tokenizer.ggml.merges", "arr:str", ["h i", "h a"]),
                ("tokenizer.ggml.bos_token_id", "u32", 1), ("tokenizer.ggml.eos_token_id", "u32", 2),
                ("tokenizer.ggml.padding_token_id", "u32", 0), ("tokenizer.ggml.add_bos_token", "bool", False),
                ("tokenizer.chat_template", "str", CHATML)]
    write("gguf", "tiny_llama.gguf", gguf(metadata, tensors))

    # One block of each quantized type (K-quants: 256 values; the others: 32), random bytes with
    # small finite f16 scales.
    def block(size, scale_at):
        raw = bytearray(rng.getrandbits(8) for _ in range(size))
        for at in scale_at:
            raw[at:at + 2] = struct.pack("<e", 0.01)
        return bytes(raw)

    quants = [("Q8_0", 8, 32, block(34, [0])), ("Q4_0", 2, 32, block(18, [0])), ("Q4_1", 3, 32, block(20, [0, 2])),
              ("Q5_0", 6, 32, block(22, [0])), ("Q5_1", 7, 32, block(24, [0, 2])),
              ("Q4_K", 12, 256, block(144, [0, 2])), ("Q5_K", 13, 256, block(176, [0, 2])),
              ("Q6_K", 14, 256, block(210, [208])), ("BF16", 30, 2, struct.pack("<2H", 0x3F80, 0xBF00)),
              ("F32", 0, 2, floats("f", [1.5, -2]))]
    write("gguf", "quants.gguf", gguf([("general.alignment", "u32", 32)],
                                      [(name, [n], code, raw) for name, code, n, raw in quants]))


if __name__ == "__main__":
    for target in ["safetensors", "config_json", "tokenizer_json", "tokenizer_config", "chat_template",
                   "jsonl_problems", "trainer_json", "gguf"]:
        shutil.rmtree(os.path.join(CORPUS, target), ignore_errors=True)
    make_safetensors()
    make_json_files()
    make_tokenizers()
    make_gguf()
    for target in sorted(os.listdir(CORPUS)):
        folder = os.path.join(CORPUS, target)
        sizes = [os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder)]
        print(f"{target}: {len(sizes)} files, {sum(sizes)} bytes")
