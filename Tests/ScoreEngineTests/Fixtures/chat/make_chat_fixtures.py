"""Makes the chat-template parity fixtures: for each model family, a tokenizer_config.json
carrying the family's chat template, and the ids `transformers` gives for two-attempt exchanges
(user problem, assistant attempt 1, user instruction, assistant attempt 2) rendered with
`apply_chat_template`. The tokenizers are small byte-level BPEs trained here with the family's
pre-tokenizer and special tokens (tokenizers/NAME.json), shared by the families that use them.

Needs `pip install transformers tokenizers jinja2`. Run from this folder:

    python3 make_chat_fixtures.py

It writes tokenizers/*.json and, for each family NAME, NAME/tokenizer_config.json and
NAME/expected.json (fields in README.md). The templates below are written after the published
ones of Qwen2, Qwen2.5, SmolLM2 and Llama-3/3.1/3.2 (the same text, tool branches included),
since the real model repositories are not downloaded here.
"""

import json
import os
import re
import shutil
import tempfile
from datetime import datetime

import tokenizers
import transformers
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer

GPT2_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                  r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# ---------------------------------------------------------------------------------------------
# Chat templates, as the models' tokenizer_config.json files carry them.

QWEN2_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

QWEN25_TEMPLATE = (
    "{%- if tools %}\n"
    "    {{- '<|im_start|>system\\n' }}\n"
    "    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- messages[0]['content'] }}\n"
    "    {%- else %}\n"
    "        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}\n"
    "    {%- endif %}\n"
    "    {{- \"\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\n"
    "You are provided with function signatures within <tools></tools> XML tags:\\n<tools>\" }}\n"
    "    {%- for tool in tools %}\n"
    "        {{- \"\\n\" }}\n"
    "        {{- tool | tojson }}\n"
    "    {%- endfor %}\n"
    "    {{- \"\\n</tools>\\n\\nFor each function call, return a json object with function name and "
    "arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\\"name\\\": <function-name>, "
    "\\\"arguments\\\": <args-json-object>}\\n</tool_call><|im_end|>\\n\" }}\n"
    "{%- else %}\n"
    "    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n"
    "    {%- else %}\n"
    "        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
    "assistant.<|im_end|>\\n' }}\n"
    "    {%- endif %}\n"
    "{%- endif %}\n"
    "{%- for message in messages %}\n"
    "    {%- if (message.role == \"user\") or (message.role == \"system\" and not loop.first) or "
    "(message.role == \"assistant\" and not message.tool_calls) %}\n"
    "        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}\n"
    "    {%- elif message.role == \"assistant\" %}\n"
    "        {{- '<|im_start|>' + message.role }}\n"
    "        {%- if message.content %}\n"
    "            {{- '\\n' + message.content }}\n"
    "        {%- endif %}\n"
    "        {%- for tool_call in message.tool_calls %}\n"
    "            {%- if tool_call.function is defined %}\n"
    "                {%- set tool_call = tool_call.function %}\n"
    "            {%- endif %}\n"
    "            {{- '\\n<tool_call>\\n{\"name\": \"' }}\n"
    "            {{- tool_call.name }}\n"
    "            {{- '\", \"arguments\": ' }}\n"
    "            {{- tool_call.arguments | tojson }}\n"
    "            {{- '}\\n</tool_call>' }}\n"
    "        {%- endfor %}\n"
    "        {{- '<|im_end|>\\n' }}\n"
    "    {%- elif message.role == \"tool\" %}\n"
    "        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != \"tool\") %}\n"
    "            {{- '<|im_start|>user' }}\n"
    "        {%- endif %}\n"
    "        {{- '\\n<tool_response>\\n' }}\n"
    "        {{- message.content }}\n"
    "        {{- '\\n</tool_response>' }}\n"
    "        {%- if loop.last or (messages[loop.index0 + 1].role != \"tool\") %}\n"
    "            {{- '<|im_end|>\\n' }}\n"
    "        {%- endif %}\n"
    "    {%- endif %}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n"
    "    {{- '<|im_start|>assistant\\n' }}\n"
    "{%- endif %}\n"
)

# SmolLM2-Instruct writes its string literals with real line breaks inside them.
SMOLLM2_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
    "<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
    "{% endif %}"
)

LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + "
    "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
    "{{ content }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)

# Llama-3.1 and Llama-3.2 share everything but the date default and the builtin tools.
_LLAMA31_HEAD = (
    "{{- bos_token }}\n"
    "{%- if custom_tools is defined %}\n"
    "    {%- set tools = custom_tools %}\n"
    "{%- endif %}\n"
    "{%- if not tools_in_user_message is defined %}\n"
    "    {%- set tools_in_user_message = true %}\n"
    "{%- endif %}\n"
    "{%- if not date_string is defined %}\n"
    "    {%- set date_string = \"26 Jul 2024\" %}\n"
    "{%- endif %}\n"
)
_LLAMA32_HEAD = (
    "{{- bos_token }}\n"
    "{%- if custom_tools is defined %}\n"
    "    {%- set tools = custom_tools %}\n"
    "{%- endif %}\n"
    "{%- if not tools_in_user_message is defined %}\n"
    "    {%- set tools_in_user_message = true %}\n"
    "{%- endif %}\n"
    "{%- if not date_string is defined %}\n"
    "    {%- if strftime_now is defined %}\n"
    "        {%- set date_string = strftime_now(\"%d %b %Y\") %}\n"
    "    {%- else %}\n"
    "        {%- set date_string = \"26 Jul 2024\" %}\n"
    "    {%- endif %}\n"
    "{%- endif %}\n"
)
_LLAMA3X_SYSTEM = (
    "{%- if not tools is defined %}\n"
    "    {%- set tools = none %}\n"
    "{%- endif %}\n"
    "\n"
    "{#- This block extracts the system message, so we can slot it into the right place. #}\n"
    "{%- if messages[0]['role'] == 'system' %}\n"
    "    {%- set system_message = messages[0]['content']|trim %}\n"
    "    {%- set messages = messages[1:] %}\n"
    "{%- else %}\n"
    "    {%- set system_message = \"\" %}\n"
    "{%- endif %}\n"
    "\n"
    "{#- System message #}\n"
    "{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}\n"
    "{%- if tools is not none %}\n"
    "    {{- \"Environment: ipython\\n\" }}\n"
    "{%- endif %}\n"
    "{{- \"Cutting Knowledge Date: December 2023\\n\" }}\n"
    "{{- \"Today Date: \" + date_string + \"\\n\\n\" }}\n"
    "{%- if tools is not none and not tools_in_user_message %}\n"
    "    {{- \"You have access to the following functions. To call a function, please respond with JSON for a function call.\" }}\n"
    "    {{- 'Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its value}.' }}\n"
    "    {{- \"Do not use variables.\\n\\n\" }}\n"
    "    {%- for t in tools %}\n"
    "        {{- t | tojson(indent=4) }}\n"
    "        {{- \"\\n\\n\" }}\n"
    "    {%- endfor %}\n"
    "{%- endif %}\n"
    "{{- system_message }}\n"
    "{{- \"<|eot_id|>\" }}\n"
    "\n"
    "{#- Custom tools are passed in a user message with some extra guidance #}\n"
    "{%- if tools_in_user_message and not tools is none %}\n"
    "    {#- Extract the first user message so we can plug it in here #}\n"
    "    {%- if messages | length != 0 %}\n"
    "        {%- set first_user_message = messages[0]['content']|trim %}\n"
    "        {%- set messages = messages[1:] %}\n"
    "    {%- else %}\n"
    "        {{- raise_exception(\"Cannot put tools in the first user message when there's no first user message!\") }}\n"
    "{%- endif %}\n"
    "    {{- '<|start_header_id|>user<|end_header_id|>\\n\\n' -}}\n"
    "    {{- \"Given the following functions, please respond with a JSON for a function call \" }}\n"
    "    {{- \"with its proper arguments that best answers the given prompt.\\n\\n\" }}\n"
    "    {{- 'Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its value}.' }}\n"
    "    {{- \"Do not use variables.\\n\\n\" }}\n"
    "    {%- for t in tools %}\n"
    "        {{- t | tojson(indent=4) }}\n"
    "        {{- \"\\n\\n\" }}\n"
    "    {%- endfor %}\n"
    "    {{- first_user_message + \"<|eot_id|>\"}}\n"
    "{%- endif %}\n"
    "\n"
    "{%- for message in messages %}\n"
    "    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}\n"
    "        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}\n"
    "    {%- elif 'tool_calls' in message %}\n"
    "        {%- if not message.tool_calls|length == 1 %}\n"
    "            {{- raise_exception(\"This model only supports single tool-calls at once!\") }}\n"
    "        {%- endif %}\n"
    "        {%- set tool_call = message.tool_calls[0].function %}\n"
    "        {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}\n"
    "        {{- '{\"name\": \"' + tool_call.name + '\", ' }}\n"
    "        {{- '\"parameters\": ' }}\n"
    "        {{- tool_call.arguments | tojson }}\n"
    "        {{- \"}\" }}\n"
    "        {{- \"<|eot_id|>\" }}\n"
    "    {%- elif message.role == \"tool\" or message.role == \"ipython\" %}\n"
    "        {{- \"<|start_header_id|>ipython<|end_header_id|>\\n\\n\" }}\n"
    "        {%- if message.content is mapping or message.content is iterable %}\n"
    "            {{- message.content | tojson }}\n"
    "        {%- else %}\n"
    "            {{- message.content }}\n"
    "        {%- endif %}\n"
    "        {{- \"<|eot_id|>\" }}\n"
    "    {%- endif %}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n"
    "    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}\n"
    "{%- endif %}\n"
)
LLAMA31_TEMPLATE = _LLAMA31_HEAD + _LLAMA3X_SYSTEM
LLAMA32_TEMPLATE = _LLAMA32_HEAD + _LLAMA3X_SYSTEM

# ---------------------------------------------------------------------------------------------
# Tokenizers: tiny byte-level BPEs trained on text like the exchanges, so merges cross the
# places where template text meets message text.

CORPUS_PARTS = [
    "system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\n",
    "system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face\n",
    "system\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n",
    "user\n\nWhat is 7 + 5?\nassistant\n\n7 + 5 = 12.\n\n",
    "There might be an error in the answer above. Please correct the error, if any, and rewrite the answer.",
    "Solve for x:\n2x + 3 = 11\n\nSo 2x = 8 and x = 4. The answer is 4.\n",
    "  indented   text  \n\n\n  and more\t\ttabs \n",
    "Compute 12 * 3. The result is 36. Is it correct? Yes, it is correct.",
    "Ignore the tags and add two and two: 2 + 2 = 4.",
    "Café déjà vu, naïve résumé.",
]
CORPUS = [part for _ in range(4) for part in CORPUS_PARTS]

CHATML_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
LLAMA3_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                   "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>",
                   "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"]
VOCAB_SIZE = 420


def trainer(special_tokens=()):
    return trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=list(special_tokens), show_progress=False,
                               initial_alphabet=pre_tokenizers.ByteLevel.alphabet())


def split_then_byte_level(pattern):
    return pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])


def qwen_tokenizer():
    """Like Qwen2/Qwen2.5: NFC, Qwen2 split pattern, special tokens after the vocab."""
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = split_then_byte_level(QWEN2_PATTERN)
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tok.train_from_iterator(CORPUS, trainer())
    tok.add_special_tokens(CHATML_SPECIALS)
    return tok


def smollm_tokenizer():
    """Like SmolLM2: GPT-2 pre-tokenizer, special tokens at ids 0-2 inside the vocab."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.train_from_iterator(CORPUS, trainer(CHATML_SPECIALS))
    return tok


def llama_tokenizer():
    """Like Llama-3: Llama-3 split pattern, ignore_merges, special tokens after the vocab, BOS
    in a TemplateProcessing post-processor (apply_chat_template does not apply it)."""
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = split_then_byte_level(LLAMA3_PATTERN)
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    tok.train_from_iterator(CORPUS, trainer())
    tok.add_special_tokens(LLAMA3_SPECIALS)
    bos = "<|begin_of_text|>"
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True),
        processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos}:1 $B:1",
                                      special_tokens=[(bos, tok.token_to_id(bos))]),
    ])
    return tok


def token_entry(content):
    """A special token as older tokenizer_config.json files write it (an AddedToken object)."""
    return {"__type": "AddedToken", "content": content, "lstrip": False, "normalized": False,
            "rstrip": False, "single_word": False, "special": True}


TOKENIZERS = {"qwen": qwen_tokenizer, "smollm": smollm_tokenizer, "llama": llama_tokenizer}

FAMILIES = {
    # name: (tokenizer, config fields besides chat_template, template, end-of-turn token)
    "qwen2": ("qwen", {"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
                       "add_bos_token": False}, QWEN2_TEMPLATE, "<|im_end|>"),
    "qwen2.5": ("qwen", {"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
                         "add_bos_token": False}, QWEN25_TEMPLATE, "<|im_end|>"),
    "smollm2": ("smollm", {"bos_token": token_entry("<|im_start|>"), "eos_token": token_entry("<|im_end|>"),
                           "pad_token": token_entry("<|im_end|>")}, SMOLLM2_TEMPLATE, "<|im_end|>"),
    "llama3": ("llama", {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}, LLAMA3_TEMPLATE, "<|eot_id|>"),
    "llama3.1": ("llama", {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}, LLAMA31_TEMPLATE,
                 "<|eot_id|>"),
    "llama3.2": ("llama", {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}, LLAMA32_TEMPLATE,
                 "<|eot_id|>"),
}

INSTRUCTION = ("There might be an error in the answer above. Please correct the error, if any, and rewrite "
               "the answer.")

# (problem, attempt 1, attempt 2)
CASES = [
    ("What is 7 + 5?", "7 + 5 = 13.", "7 + 5 = 12."),
    ("Solve for x:\n2x + 3 = 11\nWhat is x?", "x = 5", "2x = 8, so x = 4.\nThe answer is 4."),
    ("  Compute 12 * 3.  ", " 36 ", "The result is 36.\n"),
    ("\nWhat is 1 + 1?\n\n", "2", "It is 2."),
    ("Ignore <|im_end|> and <|eot_id|>: add 2 + 2.", "4<|im_end|>", "2 + 2 = 4. <|eot_id|>x"),
    ("Café: déjà vu, naïve résumé\t(tabs)\t", "Yes.", "Café."),
]


# Private-use characters that mark control-token names inside message text.
MARK_START, MARK_END = "\ue000", "\ue001"


def transformers_renderer(tok, **kwargs):
    """Renders with apply_chat_template (special-token names in messages become control tokens,
    or with sanitize_control_tokens=True, text)."""
    def render(messages, add_generation_prompt=False):
        return list(tok.apply_chat_template(messages, tokenize=True, return_dict=False,
                                            add_generation_prompt=add_generation_prompt, **kwargs))
    return render


def plain_renderer(tok):
    """Renders as the engine does: the template's own control tokens become their ids, and each
    stretch of text between them (template text and message text together) is encoded with
    special-token names as plain text (`encode_special_tokens`). Names inside messages are
    marked before rendering so they can be told apart from the template's."""
    backend = tok.backend_tokenizer
    added = sorted((t.content for t in tok.added_tokens_decoder.values()), key=len, reverse=True)
    names = "|".join(map(re.escape, added))
    special = "|".join(map(re.escape, sorted((t.content for t in tok.added_tokens_decoder.values() if t.special),
                                             key=len, reverse=True)))
    in_text = re.compile(special)
    pieces = re.compile(f"{MARK_START}({names}){MARK_END}|({names})")

    def encode_text(text):
        backend.encode_special_tokens = True
        try:
            return backend.encode(text, add_special_tokens=False).ids if text else []
        finally:
            backend.encode_special_tokens = False

    def render(messages, add_generation_prompt=False):
        marked = [dict(m, content=in_text.sub(lambda x: MARK_START + x.group(0) + MARK_END, m["content"]))
                  for m in messages]
        chat = tok.apply_chat_template(marked, tokenize=False, add_generation_prompt=add_generation_prompt)
        ids, text, position = [], "", 0
        for match in pieces.finditer(chat):
            text += chat[position:match.start()]
            position = match.end()
            if match.group(1) is not None:
                text += match.group(1)
            else:
                ids += encode_text(text)
                text = ""
                ids.append(tok.convert_tokens_to_ids(match.group(2)))
        ids += encode_text(text + chat[position:])
        return ids
    return render


def exchange(problem, attempt1, attempt2):
    return [{"role": "user", "content": problem}, {"role": "assistant", "content": attempt1},
            {"role": "user", "content": INSTRUCTION}, {"role": "assistant", "content": attempt2}]


def attempt_span(ids, start, end_of_turn):
    """[start, end) of an assistant turn: from where its generation prompt ends through its
    end-of-turn token."""
    return [start, ids.index(end_of_turn, start) + 1]


def render_case(render, end_of_turn, problem, attempt1, attempt2):
    messages = exchange(problem, attempt1, attempt2)
    prompt = render(messages[:1], add_generation_prompt=True)
    after_first = render(messages[:2])
    second_prompt = render(messages[:3], add_generation_prompt=True)
    full = render(messages)
    # The exchange grows by appending: each rendering is a prefix of the next.
    assert after_first[:len(prompt)] == prompt
    assert second_prompt[:len(after_first)] == after_first
    assert full[:len(second_prompt)] == second_prompt
    return {"prompt": prompt, "second_prompt": second_prompt, "full": full,
            "attempt_spans": [attempt_span(full, len(prompt), end_of_turn),
                              attempt_span(full, len(second_prompt), end_of_turn)]}


def has_control_names(tok, texts):
    return any(t.special and t.content in text for t in tok.added_tokens_decoder.values() for text in texts)


def make_family(name, here, scratch):
    tokenizer_name, fields, template, end_of_turn_name = FAMILIES[name]
    folder = os.path.join(here, name)
    os.makedirs(folder, exist_ok=True)
    config = dict(fields)
    config.update({"chat_template": template, "clean_up_tokenization_spaces": False,
                   "model_max_length": 131072, "tokenizer_class": "PreTrainedTokenizerFast"})
    with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2, ensure_ascii=False)
        f.write("\n")
    # transformers reads a model folder: the config and the family's tokenizer, in a scratch copy.
    model = os.path.join(scratch, name)
    os.makedirs(model)
    shutil.copy(os.path.join(folder, "tokenizer_config.json"), model)
    shutil.copy(os.path.join(here, "tokenizers", tokenizer_name + ".json"), os.path.join(model, "tokenizer.json"))
    hf = AutoTokenizer.from_pretrained(model)
    end_of_turn = hf.convert_tokens_to_ids(end_of_turn_name)
    # Templates that call strftime_now render today's date; record it (and check it held).
    today = datetime.now().strftime("%d %b %Y") if "strftime_now" in template else None
    default, sanitized, plain = (transformers_renderer(hf), transformers_renderer(hf, sanitize_control_tokens=True),
                                 plain_renderer(hf))
    cases = []
    for problem, attempt1, attempt2 in CASES:
        case = {"problem": problem, "attempt1": attempt1, "attempt2": attempt2}
        expected = render_case(plain, end_of_turn, problem, attempt1, attempt2)
        reference = render_case(default, end_of_turn, problem, attempt1, attempt2)
        if has_control_names(hf, [problem, attempt1, attempt2]):
            # transformers turns the names into control tokens; the engine keeps them as text.
            case["source"] = "plain"
            case.update(expected)
            case["transformers_full"] = reference["full"]
            case["transformers_sanitized_full"] = render_case(sanitized, end_of_turn, problem, attempt1,
                                                              attempt2)["full"]
        else:
            # Without names in the messages, the plain rendering is exactly transformers'.
            assert expected == reference, (name, problem)
            case["source"] = "transformers"
            case.update(reference)
        cases.append(case)
    if today is not None:
        assert today == datetime.now().strftime("%d %b %Y"), "the date changed while rendering; run again"
    head = {"transformers_version": transformers.__version__, "tokenizers_version": tokenizers.__version__,
            "tokenizer": tokenizer_name, "instruction": INSTRUCTION, "end_of_turn": end_of_turn, "today": today}
    lines = [json.dumps(case, ensure_ascii=True, separators=(",", ":")) for case in cases]
    with open(os.path.join(folder, "expected.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(head, ensure_ascii=True)[:-1] + ', "cases": [\n' + ",\n".join(lines) + "\n]}\n")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    os.makedirs(os.path.join(here, "tokenizers"), exist_ok=True)
    for name, make in TOKENIZERS.items():
        make().save(os.path.join(here, "tokenizers", name + ".json"))
    with tempfile.TemporaryDirectory() as scratch:
        for name in FAMILIES:
            make_family(name, here, scratch)
    total = sum(os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(here) for f in files
                if not f.endswith(".py") and "__pycache__" not in root)
    print(f"fixtures: {total // 1024} KB")


if __name__ == "__main__":
    main()
