"""Generate the PEFT LoRA adapter fixtures used by LoRAParityTests.

For two base folders of pretrained/ (made by make_pretrained_fixtures.py), `peft` wraps the
`transformers` model with a LoraConfig whose adapters start random (init_lora_weights=False, so B
is not zero and every adapter changes the output), saves them with `save_pretrained` into
`lora/NAME/` (adapter_config.json, adapter_model.safetensors) and writes
`lora/NAME.expected.safetensors`:

    input_ids   I64 [40]        random token ids
    logits      F32 [40, 300]   the PeftModel's logits for input_ids[None], eager attention, float32
    merged      F32 [40, 300]   the same after merge_and_unload()

The fixtures:

    llama_tied_all   base llama_tied, r 4, lora_alpha 8, every linear layer of every block
    qwen2_qvod       base qwen2_sharded_bf16 (q/k/v biases), r 2, lora_alpha 3, q_proj, v_proj,
                     o_proj, down_proj

The script asserts that reloading each adapter folder with PeftModel.from_pretrained reproduces
the logits. Run from this folder with torch, transformers (5.x), peft and safetensors installed:

    python3 make_lora_fixtures.py
"""

import json
import os

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "lora")
SPECS = [
    {"name": "llama_tied_all", "base": "llama_tied", "r": 4, "alpha": 8,
     "targets": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], "seed": 11},
    {"name": "qwen2_qvod", "base": "qwen2_sharded_bf16", "r": 2, "alpha": 3,
     "targets": ["q_proj", "v_proj", "o_proj", "down_proj"], "seed": 12},
]


def base_model(name):
    return AutoModelForCausalLM.from_pretrained(os.path.join(HERE, "pretrained", name), dtype=torch.float32,
                                                attn_implementation="eager").eval()


def make_fixture(spec):
    torch.manual_seed(spec["seed"])
    config = LoraConfig(r=spec["r"], lora_alpha=spec["alpha"], target_modules=spec["targets"], lora_dropout=0.0,
                        init_lora_weights=False, task_type="CAUSAL_LM")
    model = get_peft_model(base_model(spec["base"]), config).eval()
    input_ids = torch.randint(0, model.config.vocab_size, (1, 40))
    with torch.no_grad():
        logits = model(input_ids).logits[0].float().contiguous()
    folder = os.path.join(OUT, spec["name"])
    model.save_pretrained(folder)
    if os.path.exists(os.path.join(folder, "README.md")):
        os.remove(os.path.join(folder, "README.md"))
    # Name the base by its fixture folder, not by this machine's path.
    config_path = os.path.join(folder, "adapter_config.json")
    with open(config_path) as f:
        saved = json.load(f)
    saved["base_model_name_or_path"] = "pretrained/" + spec["base"]
    with open(config_path, "w") as f:
        json.dump(saved, f, indent=2, sort_keys=True)
        f.write("\n")
    reloaded = PeftModel.from_pretrained(base_model(spec["base"]), folder).eval()
    with torch.no_grad():
        again = reloaded(input_ids).logits[0]
        assert torch.allclose(again, logits, atol=1e-5), (again - logits).abs().max()
        merged = reloaded.merge_and_unload()(input_ids).logits[0].float().contiguous()
    save_file({"input_ids": input_ids[0].contiguous(), "logits": logits, "merged": merged},
              os.path.join(OUT, spec["name"] + ".expected.safetensors"))
    change = (logits - base_model(spec["base"])(input_ids).logits[0]).abs().max().item()
    print(f"{spec['name']}: adapters move the logits by up to {change:.3f}; "
          f"merged differs by {(merged - logits).abs().max().item():.2e}")


def main():
    os.makedirs(OUT, exist_ok=True)
    for spec in SPECS:
        make_fixture(spec)


if __name__ == "__main__":
    main()
