"""Makes the byte-level BPE tokenizer fixtures: small tokenizers trained with the Hugging Face
`tokenizers` library, configured the way GPT-2, SmolLM, Llama-3 and Qwen2 write their
tokenizer.json, plus the ids `tokenizers` gives for a list of test strings.

Needs `pip install tokenizers`. Run from this folder:

    python3 make_tokenizer_fixtures.py

For each family NAME it writes NAME/tokenizer.json and NAME/cases.json: the `tokenizers`
version, vocab_size (tokenizer.get_vocab_size(), added tokens included) and the cases, each
holding
  text        the input string
  ids         tokenizer.encode(text, add_special_tokens=False).ids (added tokens parsed)
  ids_plain   the same with tokenizer.encode_special_tokens = True (special tokens as text)
  decoded     tokenizer.decode(ids, skip_special_tokens=False)
  pieces      tokenizer.pre_tokenizer.pre_tokenize_str(text): the words of the whole text (no
              added tokens cut out, no normalizer) in byte-level spelling
Training is deterministic, so the output is reproducible for a given `tokenizers` version.
"""

import json
import os
import random

import tokenizers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers
from tokenizers import pre_tokenizers, processors, trainers

GPT2_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                  r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# Mixed training text: English prose, code, numbers, accented Latin, CJK, emoji.
CORPUS_PARTS = [
    "The quick brown fox jumps over the lazy dog. It's a test; we're sure they'll pass, "
    "and I'd say you've done well. DON'T PANIC! Isn't it? She said: \"hello there\".",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 42 100 1234567 3.14159 2,718,281 1e-9 -17 +23% $5.99 "
    "2024-05-17 12:30:45",
    "func add(a: Int, b: Int) -> Int {\n    return a + b\n}\n\n"
    "def square(x):\n    return x ** 2\n\nfor i in range(10):\n\tprint(i, square(i))\n"
    "if (x != y && y >= 0) { z = x / y; } // comment\r\n/* block */\r\n",
    "Café, naïve, résumé, Ångström, Müller, façade, jalapeño, coöperate, über, señor, "
    "garçon, déjà vu, crème brûlée, Zürich, São Paulo, Łódź, Dvořák.",
    "日本語のテキストです。東京は大きい都市です。中文分词测试，我们正在学习。"
    "한국어 문장도 있습니다. Русский текст и ελληνικά γράμματα.",
    "Emoji: 😀 😂 👍 👍🏽 🎉 🚀 ❤️ 👨‍👩‍👧 🇫🇷 🇯🇵 ✨ — and symbols: © ® ™ € £ ¥ ½ ° ± × ÷ → ∞.",
    "Whitespace   runs\t\tand tabs\n\n\nand blank lines   \n  indented\n    more\n",
]
CORPUS = [part for _ in range(3) for part in CORPUS_PARTS] + [" ".join(CORPUS_PARTS)]

SMOLLM_SPECIALS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<repo_name>", "<reponame>", "<file_sep>",
    "<filename>", "<gh_stars>", "<issue_start>", "<issue_comment>", "<issue_closed>",
    "<jupyter_start>", "<jupyter_text>", "<jupyter_code>", "<jupyter_output>",
    "<jupyter_script>", "<empty_output>",
]
LLAMA3_SPECIALS = [
    "<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
    "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>",
    "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>",
]
IGNORE_MERGES_WORDS = [" world", " naïveté"]
QWEN2_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def byte_level(text):
    """The byte-level form of text: each UTF-8 byte as GPT-2's printable stand-in character."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1))
                 + list(range(ord("\u00ae"), ord("\u00ff") + 1)))
    table, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(256 + extra)
            extra += 1
    return "".join(table[byte] for byte in text.encode("utf-8"))


def byte_level_trainer(vocab_size, special_tokens=()):
    return trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=list(special_tokens), show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())


def split_then_byte_level(pattern, trim_offsets):
    return pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=trim_offsets, use_regex=False),
    ])


def make_gpt2():
    """GPT-2: ByteLevel pre-tokenizer with its built-in regex; <|endoftext|> is the last id of
    the model vocab and also an added token; merges in the older "a b" string form."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    tok.train_from_iterator(CORPUS, byte_level_trainer(700))
    data = json.loads(tok.to_str())
    eot_id = len(data["model"]["vocab"])
    data["model"]["vocab"]["<|endoftext|>"] = eot_id
    data["model"]["merges"] = [" ".join(pair) for pair in data["model"]["merges"]]
    data["model"]["continuing_subword_prefix"] = ""
    data["model"]["end_of_word_suffix"] = ""
    data["added_tokens"] = [{"id": eot_id, "content": "<|endoftext|>", "single_word": False,
                             "lstrip": False, "rstrip": False, "normalized": True, "special": True}]
    return Tokenizer.from_str(json.dumps(data))


def make_smollm():
    """SmolLM: GPT-2's pre-tokenizer; its 17 special tokens take ids 0-16 of the model vocab."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.train_from_iterator(CORPUS, byte_level_trainer(720, SMOLLM_SPECIALS))
    return tok


def make_llama3():
    """Llama-3(.1): Split(llama-3 pattern) then ByteLevel without regex, ignore_merges, special
    tokens after the model vocab, BOS added by a TemplateProcessing post-processor."""
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = split_then_byte_level(LLAMA3_PATTERN, trim_offsets=True)
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    tok.train_from_iterator(CORPUS, byte_level_trainer(800))
    # Llama-3's vocab has whole words that its merges alone would not build; ignore_merges emits
    # such a pre-token as one id. Add two like that (the trainer makes none).
    data = json.loads(tok.to_str())
    vocab = data["model"]["vocab"]
    for word in IGNORE_MERGES_WORDS:
        assert byte_level(word) not in vocab
        vocab[byte_level(word)] = len(vocab)
    tok = Tokenizer.from_str(json.dumps(data))
    tok.add_special_tokens(LLAMA3_SPECIALS)
    bos = "<|begin_of_text|>"
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True),
        processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos}:1 $B:1",
            special_tokens=[(bos, tok.token_to_id(bos))]),
    ])
    return tok


def make_qwen2():
    """Qwen2(.5): NFC normalizer, Split(qwen2 pattern) then ByteLevel without regex, special
    tokens after the model vocab, and the non-special added tokens <tool_call> </tool_call>."""
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = split_then_byte_level(QWEN2_PATTERN, trim_offsets=False)
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tok.train_from_iterator(CORPUS, byte_level_trainer(760))
    tok.add_special_tokens(QWEN2_SPECIALS)
    tok.add_tokens([AddedToken("<tool_call>", special=False, normalized=False),
                    AddedToken("</tool_call>", special=False, normalized=False)])
    return tok


def make_options():
    """Less common settings: add_prefix_space, and added tokens with lstrip, rstrip,
    single_word and normalized (matched in a second pass) set."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(CORPUS, byte_level_trainer(600))
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True, normalized=False),
                            AddedToken("<s>", special=True, normalized=False)])
    tok.add_tokens([
        AddedToken("[TAG]", single_word=True, special=False, normalized=False),
        AddedToken("<r>", rstrip=True, special=False, normalized=False),
        AddedToken("new york", special=False, normalized=True),
        AddedToken("<ma", special=False, normalized=True),
        AddedToken("k>x", special=False, normalized=False),
    ])
    return tok


COMMON_TEXTS = [
    "", "Hello, world!", "hello world", "  leading spaces", "trailing spaces   ", "   ", " ",
    "tabs\tand\t\ttabs", "line1\nline2\n\nline4", "windows\r\nline\r\n", "\r\n\r\n",
    "mixed \t \n  \r\n end", "\n\n\n", "a  b   c    d", "1234567", "12345678901",
    "3.14159 and 2,718,281", "x=1;y=22;z=333", "I'm", "DON'T", "they're we've you'll he'd it's",
    "I'M SURE YOU'LL", "'s 't 're", "it'ſ", "x'ſx y'Sx z'Tx a'LLx b'REx c'VEx d'Dx e'Mx f'sx", "Hello!!! ...? (ok) [yes] {no}",
    "café naïve Ångström résumé", "e\u0301 decomposed vs \u00e9 composed", "Zu\u0308rich",
    "\U00010050\u0301 \U000E0075\u0301 \u1100\u1161\u11a8",
    "日本語のテキスト", "中文分词测试，我们正在学习。", "한국어 문장", "Русский текст",
    "emoji 😀 👍🏽 👨‍👩‍👧 🇫🇷", "👨‍👩‍👧‍👦", "unseen ∰ ⅋ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ☃",
    "func add(a: Int, b: Int) -> Int {\n    return a + b\n}\n",
    "def f(x):\n    return x ** 2\n", "½ Ⅻ ٣ ² ǅ ʰ 々 〇",
    "no\u00a0break\u3000ideographic\u2028line\u0085next", "quick brown fox jumps over the lazy dog",
    "the the the the", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "                ",
]

FAMILY_TEXTS = {
    "gpt2": ["<|endoftext|>", "a<|endoftext|>b", "<|endoftext|><|endoftext|>", "<|endoftext|",
             "text <|endoftext|> more"],
    "smollm": ["<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n", "<|endoftext|>",
               "<filename>main.swift<file_sep>code", "<|im_start", "<reponame><repo_name>"],
    "llama3": ["<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>",
               "<|eot_id|><|eot_id|>", "<|eot_id", "x<|python_tag|>y", "<|end_of_text|>",
               "world world", "la naïveté", " naïvetés"],
    "qwen2": ["<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n",
              "<|endoftext|>", "<tool_call>{\"name\": \"f\"}</tool_call>", "<|im_end", "<tool_call"],
    "options": ["hello <mask> world", "hello<mask>", "   <mask>", "a [TAG] b", "a[TAG]b",
                "[TAG]", "x <r>   y", "<r>\n\nz", "I love new york", "new yorker", "<mask>",
                "<s>hi<s>", "<mak>x", "<mask>x", "<ma", " [TAG] [TAG]"],
}

FUZZ_POOL = [
    "a", "b", "e", "s", "t", "re", "ll", "d", "Z", "é", "e\u0301", "ſ", "'", "'s", "'T", " ",
    "  ", "\t", "\n", "\r", "\r\n", "\u00a0", "\u3000", "\u2028", "\u0085", "0", "1", "7", "42",
    "½", "٣", "Ⅻ", ".", ",", "!", "?", "(", ")", "-", "_", "<", ">", "|", "中", "文", "日", "😀",
    "👍🏽", "👨‍👩‍👧", "🇫🇷", "ǅ", "ʰ", "\u0301", "the", "fox", "return", "Int",
]


def fuzz_texts(family, count=40):
    rng = random.Random(f"fuzz-{family}")
    pool = FUZZ_POOL + FAMILY_TEXTS[family]
    return ["".join(rng.choice(pool) for _ in range(rng.randint(1, 24))) for _ in range(count)]


def cases(tok, texts):
    out = []
    for text in texts:
        tok.encode_special_tokens = False
        ids = tok.encode(text, add_special_tokens=False).ids
        tok.encode_special_tokens = True
        plain = tok.encode(text, add_special_tokens=False).ids
        tok.encode_special_tokens = False
        pieces = [piece for piece, _ in tok.pre_tokenizer.pre_tokenize_str(text)]
        out.append({"text": text, "ids": ids, "ids_plain": plain,
                    "decoded": tok.decode(ids, skip_special_tokens=False), "pieces": pieces})
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    makers = {"gpt2": make_gpt2, "smollm": make_smollm, "llama3": make_llama3,
              "qwen2": make_qwen2, "options": make_options}
    for family, make in makers.items():
        tok = make()
        folder = os.path.join(here, family)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "tokenizer.json")
        tok.save(path, pretty=True)
        tok = Tokenizer.from_file(path)  # test what was written
        texts = COMMON_TEXTS + FAMILY_TEXTS[family] + fuzz_texts(family)
        lines = [json.dumps(case, ensure_ascii=True) for case in cases(tok, texts)]
        with open(os.path.join(folder, "cases.json"), "w", encoding="utf-8") as f:
            f.write('{"tokenizers_version": %s, "vocab_size": %d, "cases": [\n'
                    % (json.dumps(tokenizers.__version__), tok.get_vocab_size()))
            f.write(",\n".join(lines))
            f.write("\n]}\n")
        print(f"{family}: {tok.get_vocab_size()} ids, {len(texts)} cases, "
              f"tokenizer.json {os.path.getsize(path) // 1024} KB")


if __name__ == "__main__":
    main()
