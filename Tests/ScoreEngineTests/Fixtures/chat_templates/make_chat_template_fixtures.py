"""Renders real chat templates with transformers' own Jinja environment, for JinjaTemplateTests.

Each templates/NAME.json holds one model's chat template (its Jinja source, taken from the
model's published tokenizer_config.json; `source` says from where) and its special tokens. This
script renders the conversations below with each template exactly as
`tokenizer.apply_chat_template(..., tokenize=False)` does (transformers'
`render_jinja_template`: its sandboxed environment with trim_blocks and lstrip_blocks, its
`tojson`, `raise_exception` and `strftime_now`, the tokenizer's special tokens as variables,
`tools` and `documents`), with `strftime_now` reading a fixed time. It writes
conversations.json (the conversations, the time and the library versions) and expected/NAME.json
(for each conversation, the rendered text, or the error transformers raises and whether it came
from the template's own raise_exception).

Needs transformers and jinja2 (no network, no model files). Run from this folder:

    python3 make_chat_template_fixtures.py

Other uses:

    python3 make_chat_template_fixtures.py --import NAME MODEL path/to/tokenizer_config.json
        writes templates/NAME.json from a tokenizer_config.json (or a chat_template.jinja next
        to it); then run the script again to render it;
    python3 make_chat_template_fixtures.py --sweep CONFIGS.json OUT.json
        renders the same conversations for every template of CONFIGS.json (an object of
        NAME -> {"chat_template", "bos_token", ...}) into OUT.json (conversations.json's fields,
        then "templates": NAME -> expected renders, and "sources": NAME -> template entry);
        JinjaTemplateTests compares the Swift renderer with it when the environment variable
        SCORE_JINJA_SWEEP names OUT.json (a broad check that is not part of the normal run).
"""

import argparse
import json
import os
import sys
from datetime import datetime

import jinja2
import transformers
import transformers.utils.chat_template_utils as chat_template_utils
from transformers.utils.chat_template_utils import render_jinja_template

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATES = os.path.join(HERE, "templates")
EXPECTED = os.path.join(HERE, "expected")

# strftime_now reads this time (the Swift tests render with the same instant in UTC).
NOW = datetime(2025, 3, 5, 12, 0, 0)

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}

# name -> (messages, add_generation_prompt, tools). Roles alternate user/assistant unless the
# case is about something else; contents carry the whitespace, line breaks, accents and
# reasoning blocks that templates treat differently.
CONVERSATIONS = {
    "single": ([{"role": "user", "content": "Hello!"}], True, None),
    "single_no_prompt": ([{"role": "user", "content": "Hello!"}], False, None),
    "exchange": ([
        {"role": "user", "content": "  What is 2 + 2?\n"},
        {"role": "assistant", "content": " It is 4. "},
        {"role": "user", "content": "Are you sure?\tCheck it — café."},
    ], True, None),
    "full": ([
        {"role": "user", "content": "What is 2 + 2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "There might be an error.\n\nPlease check."},
        {"role": "assistant", "content": "<think>\nRecount.\n</think>\n\nStill 4."},
    ], False, None),
    "system": ([
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "Bye"},
    ], True, None),
    "tools": ([
        {"role": "user", "content": "What is the weather in Paris?"},
    ], True, [WEATHER_TOOL]),
    "two_users": ([
        {"role": "user", "content": "One"},
        {"role": "user", "content": "Two"},
    ], True, None),
    "empty": ([], True, None),
}


def sorted_keys(value):
    """The value with every dict's keys sorted (the Swift side reads JSON objects sorted)."""
    if isinstance(value, dict):
        return {key: sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [sorted_keys(item) for item in value]
    return value


class FixedDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        return NOW


def token(value):
    """A special-token field: its name, as a string or inside an object's "content"."""
    return value.get("content") if isinstance(value, dict) else value


def render(entry, messages, add_generation_prompt, tools):
    """What transformers renders, or the error it raises."""
    special = {key: entry[key] for key in ("bos_token", "eos_token", "pad_token", "unk_token") if entry.get(key)}
    try:
        rendered, _ = render_jinja_template(
            conversations=[sorted_keys(messages)], tools=sorted_keys(tools) if tools else None,
            chat_template=entry["chat_template"], add_generation_prompt=add_generation_prompt, **special)
        return {"text": rendered[0]}
    except jinja2.exceptions.TemplateError as error:
        raised = type(error) is jinja2.exceptions.TemplateError
        return {"error": f"{type(error).__name__}: {error}", "raised": raised}
    except Exception as error:  # a template bug transformers surfaces as a Python error
        return {"error": f"{type(error).__name__}: {error}", "raised": False}


def header():
    """The versions, the fixed time and the conversations rendered."""
    return {
        "transformers_version": transformers.__version__,
        "jinja2_version": jinja2.__version__,
        "now": NOW.isoformat(),
        "conversations": {
            name: {"messages": sorted_keys(messages), "add_generation_prompt": prompt,
                   "tools": sorted_keys(tools) if tools else None}
            for name, (messages, prompt, tools) in CONVERSATIONS.items()
        },
    }


def render_template(entry):
    """Every conversation rendered with one template."""
    chat_template_utils.datetime = FixedDatetime
    return {case: render(entry, *CONVERSATIONS[case]) for case in CONVERSATIONS}


def write_json(path, value):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=1, sort_keys=False)
        f.write("\n")


def import_template(name, model, config_path):
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)
    template = config.get("chat_template")
    jinja_path = os.path.join(os.path.dirname(config_path), "chat_template.jinja")
    if os.path.exists(jinja_path):
        with open(jinja_path, encoding="utf-8") as f:
            template = f.read()
    if isinstance(template, list):
        template = next(item["template"] for item in template if item["name"] == "default")
    if not isinstance(template, str):
        sys.exit(f"{config_path} has no chat template")

    entry = {"model": model, "source": os.path.abspath(config_path), "chat_template": template}
    entry.update({key: token(config.get(key)) for key in ("bos_token", "eos_token", "pad_token", "unk_token")})
    write_json(os.path.join(TEMPLATES, name + ".json"), entry)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--import", dest="import_args", nargs=3, metavar=("NAME", "MODEL", "CONFIG"))
    parser.add_argument("--sweep", nargs=2, metavar=("CONFIGS", "OUT"))
    args = parser.parse_args()
    if args.import_args:
        import_template(*args.import_args)
        return
    if args.sweep:
        with open(args.sweep[0], encoding="utf-8") as f:
            configs = json.load(f)
        entries = {}
        for name, config in configs.items():
            template = config.get("chat_template")
            if isinstance(template, dict):
                template = template.get("default")
            if isinstance(template, str):
                entries[name] = {key: token(config.get(key)) for key in ("bos_token", "eos_token", "pad_token", "unk_token")}
                entries[name]["chat_template"] = template
        result = header()
        result["templates"] = {name: render_template(entries[name]) for name in sorted(entries)}
        result["sources"] = {name: entries[name] for name in sorted(entries)}
        write_json(args.sweep[1], result)
        return
    write_json(os.path.join(HERE, "conversations.json"), header())
    os.makedirs(EXPECTED, exist_ok=True)
    for file in sorted(os.listdir(TEMPLATES)):
        if file.endswith(".json"):
            with open(os.path.join(TEMPLATES, file), encoding="utf-8") as f:
                write_json(os.path.join(EXPECTED, file), render_template(json.load(f)))


if __name__ == "__main__":
    main()
