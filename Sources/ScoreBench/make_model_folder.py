"""Writes a Hugging Face model folder with random weights in the shape of SmolLM2-135M (bf16), with
the small test tokenizer and SmolLM2 chat template of the repository's fixtures, for measuring what
libscore needs to train a model of that size:

    python3 Sources/ScoreBench/make_model_folder.py OUT_DIR      # needs torch and transformers
    printf '{"prompt": "What is 2+2?", "reference": "4"}\\n{"prompt": "What is 3+5?", "reference": "8"}\\n' > p.jsonl
    /usr/bin/time -v .build/release/score-cli train --model OUT_DIR --problems p.jsonl --out RUN_DIR \\
        --stage-i 1 --stage-ii 1 --prompts 2 --samples 2 --max-new-tokens 16 --threads 1
"""

import pathlib
import shutil
import sys

import torch
from transformers import LlamaConfig, LlamaForCausalLM

out = pathlib.Path(sys.argv[1])
chat = pathlib.Path(__file__).resolve().parents[2] / "Tests/ScoreEngineTests/Fixtures/chat"
torch.manual_seed(0)
config = LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                     num_attention_heads=9, num_key_value_heads=3, max_position_embeddings=2048,
                     tie_word_embeddings=True, rope_theta=10000.0, rms_norm_eps=1e-5)
model = LlamaForCausalLM(config).to(torch.bfloat16)
print(f"{sum(p.numel() for p in model.parameters())} parameters")
model.save_pretrained(out)
shutil.copy(chat / "tokenizers/smollm.json", out / "tokenizer.json")
shutil.copy(chat / "smollm2/tokenizer_config.json", out / "tokenizer_config.json")
