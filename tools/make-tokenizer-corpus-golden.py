#!/usr/bin/env python3
"""Tokenizer agreement golden data: a deterministic corpus of short strings, and the token ids llama.cpp
(through the `llama-cpp-python` PyPI package) gives each of them with every fixture model's vocabulary.
tests/tokenizer/test_tokenizer_corpus.cpp tokenizes the same strings with hearth and compares.

Usage: tools/make-tokenizer-corpus-golden.py [--models DIR] [--out tests/data/tokenizer] [--seed N]
Needs: pip install llama-cpp-python   (e.g. the venv at ~/.cache/hearth/venv). CPU only, vocab only.

Output:
  corpus.json     {"seed": N, "categories": [[name, count], ...], "strings": [...]}: each string is a JSON string,
                  or {"hex": "..."} when its bytes are not valid UTF-8. Strings are grouped by category in the
                  order of "categories" (count strings of the first, then of the second, ...).
  <model>.json    {"model": file, "llama_cpp_python": version, "excluded": [...], "tokens": [[ids], ...]}:
                  one id list per corpus string, from llm.tokenize(bytes, add_bos=False, special=False)
                  (no BOS, special-token text NOT parsed). "excluded" lists corpus indices on which llama.cpp
                  failed (their id list is null). Each string is tokenized in a worker process, because
                  llama.cpp aborts the whole process on some inputs: with llama-cpp-python 0.3.36 its BPE
                  path throws std::invalid_argument("invalid codepoint") through the C API (-> abort) for
                  bytes that decode to a code point above U+10FFFF (F4 90 80 80, F5..F7 lead bytes). That
                  excludes 32 strings for SmolLM2 and Qwen2.5 and none for Gemma (SPM) with the default seed.

The corpus (>= 5,000 strings, mostly 1-120 bytes; the generator is seeded, so reruns give identical files):
  multilingual   words of Latin-with-accents, Cyrillic, Greek, Arabic, Hebrew, Devanagari, CJK, Thai, Korean
                 (fixed lists plus random code points of each script), single- and mixed-script
  code           Python / C++ / JS / JSON / shell fragments: indentation, tabs, \\n, \\r\\n, operators
  emoji          single, skin tones, ZWJ families/professions, flags (regional indicator pairs), keycaps, VS16
  whitespace     runs of spaces, tabs, \\n, \\r\\n, \\r, \\v, \\f, NBSP, ideographic space; leading/trailing
  digits         long numbers, decimals, thousands separators, digits glued to letters, non-ASCII digits
  contractions   's 't 're 've 'm 'll 'd in every case mix, with curly apostrophes and odd neighbours
  punctuation    runs of ASCII and Unicode punctuation, mixed with letters and spaces
  unicode        random scalar values from all 17 planes (no surrogates), combining marks, ZWJ, BOM, NUL
  bytes          invalid UTF-8: random bytes, truncated sequences, overlong forms, encoded surrogates,
                 > U+10FFFF, lone continuation bytes, each alone or inside valid text
  special        text containing special-token strings (<|im_start|>, <start_of_turn>, <bos>, ...)
  mixed          concatenations of pieces from all of the above
"""
import argparse
import json
import os
import random
import sys

MODELS = {
    "smollm2-135m": "SmolLM2-135M-Instruct.Q4_1.gguf",
    "gemma3-270m": "gemma-3-270m-q4_k_m.gguf",
    "qwen2.5-coder-0.5b": "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
}

MAX_BYTES = 120

# ---------------------------------------------------------------------------------------------------------
# Fixed material

WORDS = {
    "latin": ("café naïve résumé façade jalapeño über Straße Grüße Ærø smörgåsbord crème brûlée coöperate "
              "São Paulo João ação coração niño año mañana pingüino Łódź Kraków źdźbło żółć Dvořák příliš "
              "žluťoučký kůň Ångström fjörður Þórr Ísland İstanbul ışık ağaç şeker Việt Nam tiếng Tiếng "
              "dấu hỏi œuvre Œdipe déjà vu garçon élève Noël Zürich Ærlig ĳssel Ħal Ġgantija Ŝanĝo ĉiuĵaŭde "
              "the quick brown fox jumps over lazy dog Hello World HELLO hello Ünïcödé ÀÉÎÕÜ àéîõü").split(),
    "cyrillic": ("Привет мир Москва Россия быстрая коричневая лиса прыгает через ленивую собаку Ёлка ёжик "
                 "Україна Київ їжак ґанок Беларусь Србија Ђорђе љубав њега Македонија ѕвезда ПРИВЕТ "
                 "съешь ещё этих мягких французских булок да выпей чаю").split(),
    "greek": ("Γειά σου κόσμε Αθήνα Ελλάδα ΑΒΓΔΕ αβγδε ψυχή ξεσκεπάζω την ψυχοφθόρα βδελυγμία "
              "Σίσυφος λόγος ΛΌΓΟΣ ῥῆμα ἀλήθεια ὕδωρ ϊΰ").split(),
    "arabic": ("مرحبا بالعالم السلام عليكم اللغة العربية كتاب مدرسة القاهرة شكرا جزيلا "
               "صباح الخير ١٢٣ ٤٥٦ فارسی سلام دنیا").split(),
    "hebrew": "שלום עולם ירושלים ספר בית תודה רבה עברית אָלֶף בֵּית".split(),
    "devanagari": "नमस्ते दुनिया हिन्दी भारत संस्कृतम् क्षत्रिय श्री ज्ञान मराठी नेपाल धन्यवाद ०१२३".split(),
    "cjk": ("你好 世界 中文 汉字 北京 上海 謝謝 漢字 日本語 こんにちは 東京 カタカナ ひらがな ありがとう "
            "ございます 今日は 天気 良い 私 は 学生 です 𠀀 𪚥 龘").split(),
    "thai": "สวัสดี ครับ ภาษาไทย กรุงเทพ ขอบคุณ มาก ประเทศไทย เชียงใหม่ น้ำ ๑๒๓".split(),
    "korean": "안녕하세요 세계 한국어 서울 감사합니다 사랑해 대한민국 한글 ᄀᄁᄂ ㄱㄴㄷ".split(),
}

# Code point ranges per script, for random "words".
SCRIPT_RANGES = {
    "latin": [(0x41, 0x5A), (0x61, 0x7A), (0xC0, 0xFF), (0x100, 0x17F), (0x180, 0x24F), (0x1E00, 0x1EFF)],
    "cyrillic": [(0x400, 0x4FF)],
    "greek": [(0x370, 0x3FF), (0x1F00, 0x1FFF)],
    "arabic": [(0x600, 0x6FF), (0x750, 0x77F), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF)],
    "hebrew": [(0x591, 0x5F4), (0xFB1D, 0xFB4F)],
    "devanagari": [(0x900, 0x97F)],
    "cjk": [(0x4E00, 0x9FFF), (0x3040, 0x30FF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0xFF00, 0xFFEF)],
    "thai": [(0xE01, 0xE5B)],
    "korean": [(0xAC00, 0xD7A3), (0x1100, 0x11FF), (0x3130, 0x318F)],
}

CODE = [
    'def foo(x, y=2):\n    return x ** y  # power\n',
    'for i in range(10):\n\tprint(f"{i:>4}")\n',
    'class A(object):\n    def __init__(self):\n        self._x = None\n',
    'if __name__ == "__main__":\n    main()\n',
    'lambda x: x[::-1] if x else []',
    'import numpy as np\narr = np.zeros((3, 4), dtype=np.float32)\n',
    '    # TODO: fix this\n    pass\n',
    'try:\n    x = d["key"]\nexcept KeyError as e:\n    raise ValueError(str(e)) from e\n',
    '#include <vector>\nint main() {\n  std::vector<int> v{1, 2, 3};\n  return 0;\n}\n',
    'template <typename T>\nT max(T a, T b) { return a > b ? a : b; }\n',
    'for (int i = 0; i < n; ++i) {\r\n\tsum += a[i] * b[i];\r\n}\r\n',
    'auto p = std::make_unique<Foo>(); p->bar(); ptr->x >>= 2; a <<= 1;',
    'static_cast<uint32_t>(x) & 0xFFu | (y << 8)',
    '/* block comment */ // line comment\n#define MAX(a,b) ((a)>(b)?(a):(b))\n',
    'const f = async (a, b) => { await g(a ?? b); };\n',
    'let s = `template ${x + 1} literal`;\nconsole.log(s === "x" && s !== null);\n',
    'function f() {\n  return [...arr].map((x) => x * 2).filter(Boolean);\n}\n',
    'if (a !== b || c >= d) { x++; y--; }',
    '{"name": "hearth", "version": 1, "tags": ["a", "b"], "ok": true, "n": null}',
    '{\n  "key": "value",\n  "nested": {\n    "arr": [1, 2.5, -3e10]\n  }\n}\n',
    '[{"id":1},{"id":2}]',
    '#!/bin/bash\nset -euo pipefail\nfor f in *.txt; do\n  echo "$f" | wc -c\ndone\n',
    'ls -la /usr/local/bin | grep -v "^d" > out.log 2>&1 &&\\\n  cat out.log',
    'export PATH="$HOME/.local/bin:$PATH"; cd ~ && make -j$(nproc)',
    'awk \'{print $1}\' file | sort -u | head -n 10',
    'SELECT id, name FROM users WHERE age >= 18 ORDER BY name;',
    '<div class="x">\n  <a href="https://example.com/?q=1&r=2">link</a>\n</div>',
    'fn main() {\n    let v: Vec<u8> = vec![0; 16];\n    println!("{:?}", v);\n}\n',
    'x := map[string]int{"a": 1}\nif err != nil {\n\treturn err\n}\n',
    '    \t\tmixed_indent = True\n\t    other = False\n',
    '@decorator\ndef g(*args, **kwargs) -> None: ...\n',
    'a=b+c-d*e/f%g^h|i&j~k!l',
    '0x1F 0b1010 0o777 1e-9 3.14159f 42ULL',
    'https://github.com/ggml-org/llama.cpp/blob/master/src/llama-vocab.cpp#L100',
    'user@example.com C:\\Users\\test\\file.txt /etc/passwd',
]

CODE_TOKENS = ("def class return import from if else elif for while try except with as lambda yield "
               "int float char void auto const static struct template typename std::vector std::string "
               "function let var const => async await console.log null undefined true false None True "
               "echo grep sed awk cd ls $HOME ${x} $(cmd) && || ; | > >> < 2>&1 == != <= >= += -= :: -> "
               "( ) [ ] { } , . : \" ' ` # // /* */ \\n 0 1 42 3.14 x y foo bar self this i j n").split()

EMOJI = ["😀", "😂", "🤣", "❤️", "❤", "👍", "👍🏻", "👍🏼", "👍🏽", "👍🏾", "👍🏿", "🦙", "🔥", "✨", "🎉", "🚀",
         "👨‍👩‍👧‍👦", "👩‍💻", "🧑🏽‍🚀", "👨🏿‍⚕️", "🏳️‍🌈", "🏴‍☠️", "❤️‍🔥", "🧔‍♀️", "👁️‍🗨️", "🐻‍❄️",
         "🇺🇸", "🇯🇵", "🇩🇪", "🇫🇷", "🇧🇷", "🇮🇳", "🇺🇦", "🇪🇺", "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
         "1️⃣", "#️⃣", "*️⃣", "©️", "®", "™️", "☀️", "☃", "⚡", "⌚", "🀄", "🃏", "🅰️", "🆗", "🈁",
         "🤷‍♂️", "🙋🏻‍♀️", "💏🏽", "🫠", "🫶🏾", "🪿", "🥹", "😶‍🌫️", "🧑‍🤝‍🧑"]

WS = [" ", "  ", "   ", "\t", "\n", "\r\n", "\r", "\n\n", " \n", "\t\t", "\u000b", "\u000c", "\u00a0", "\u3000",
      "\u2003", "\u2009", "\u200b", "\u0085", "\u2028", "\u2029", "\u1680", "\ufeff"]

CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'VE", "'M", "'LL", "'D",
                "'Re", "'rE", "'Ve", "'Ll", "'lL", "’s", "’t", "’re", "’ll", "''", "'"]
CONTRACTION_WORDS = ["it", "don", "we", "I", "they", "you", "she", "IT", "DON", "WE", "She", "can", "won",
                     "o", "rock 'n", "y", "1", "x", " ", "", "ÉTÉ", "ça", "мы", "2023", "Bob"]

PUNCT = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + ["…", "—", "–", "«", "»", "“", "”", "‘", "’", "¿", "¡",
                                                     "·", "•", "§", "¶", "†", "‡", "※", "。", "、", "「", "」",
                                                     "！", "？", "،", "؟", "।", "॥", "〜", "・", "¦", "¬", "±"]

SPECIAL_STRINGS = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im_start|>user\n", "<|im_start|>assistant\n",
                   "<start_of_turn>", "<end_of_turn>", "<start_of_turn>user\n", "<bos>", "<eos>", "<pad>",
                   "<unk>", "<mask>", "<s>", "</s>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
                   "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>", "<tool_call>", "</tool_call>",
                   "<|vision_start|>", "<image_soft_token>", "<start_of_image>", "[INST]", "[/INST]",
                   "<|begin_of_text|>", "<|eot_id|>", "<|", "|>", "<|im_", "<<|im_start|>>", "<|IM_START|>",
                   "<0x41>", "<0xFF>", "▁", "▁▁", "Ġ", "Ċ", "<repo_name>", "<filename>", "<jupyter_code>"]

INVALID_SEQS = [b"\x80", b"\xbf", b"\xc0", b"\xc1", b"\xc0\x80", b"\xc1\xbf", b"\xc2", b"\xdf", b"\xe0",
                b"\xe0\x80\x80", b"\xe0\x9f\xbf", b"\xe2\x82", b"\xed\xa0\x80", b"\xed\xbf\xbf",
                b"\xf0", b"\xf0\x80\x80\x80", b"\xf0\x9f", b"\xf0\x9f\xa6", b"\xf4\x90\x80\x80", b"\xf5",
                b"\xf8\x88\x80\x80\x80", b"\xfc\x84\x80\x80\x80\x80", b"\xfe", b"\xff", b"\xfe\xff",
                b"\xff\xfe", b"\xef\xbb", b"\x80\x80\x80", b"\xc3\x28", b"\xa0\xa1", b"\xe2\x28\xa1",
                b"\xf0\x28\x8c\xbc", b"\xf0\x90\x28\xbc"]


# ---------------------------------------------------------------------------------------------------------
# Generators: each takes the RNG and returns a str (or bytes for invalid UTF-8).

def clip(s, limit=MAX_BYTES):
    """Cuts a str to at most `limit` UTF-8 bytes at a code point boundary."""
    b = s.encode("utf-8")
    if len(b) <= limit:
        return s
    return b[:limit].decode("utf-8", errors="ignore")


def rand_cp(rng, ranges):
    lo, hi = rng.choice(ranges)
    return chr(rng.randint(lo, hi))


def script_word(rng, script):
    if rng.random() < 0.7:
        return rng.choice(WORDS[script])
    return "".join(rand_cp(rng, SCRIPT_RANGES[script]) for _ in range(rng.randint(1, 6)))


def gen_multilingual(rng):
    scripts = list(WORDS)
    if rng.random() < 0.6:
        chosen = [rng.choice(scripts)]
    else:
        chosen = rng.sample(scripts, rng.randint(2, 4))
    n = rng.randint(1, 10)
    parts = []
    for _ in range(n):
        parts.append(script_word(rng, rng.choice(chosen)))
        parts.append(rng.choice([" ", " ", " ", ", ", ". ", "", "\n", "  ", "-", "、", "。", "؟ "]))
    s = "".join(parts)
    if rng.random() < 0.3:
        s = s.strip()
    if rng.random() < 0.2:
        s = rng.choice([s.upper(), s.lower(), s.title()])
    return clip(s)


def gen_code(rng):
    r = rng.random()
    if r < 0.45:
        s = rng.choice(CODE)
        if len(s.encode()) > MAX_BYTES or rng.random() < 0.5:
            b = s
            i = rng.randrange(len(b))
            s = b[i:i + rng.randint(5, 100)]
    elif r < 0.9:
        indent = rng.choice(["", "    ", "\t", "  ", "        ", "\t\t", " \t"])
        lines = []
        for _ in range(rng.randint(1, 4)):
            toks = [rng.choice(CODE_TOKENS) for _ in range(rng.randint(1, 8))]
            sep = rng.choice([" ", "", " "])
            lines.append(indent * rng.randint(0, 3) + sep.join(toks))
        s = rng.choice(["\n", "\r\n", "\n\n"]).join(lines)
        if rng.random() < 0.5:
            s += "\n"
    else:
        ident = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz_ABCXYZ0123456789") for _ in range(rng.randint(1, 20)))
        s = rng.choice(["{}_{}", "{}.{}()", "get{}{}", "{}::{}", "{}->{}", "self.{}[{}]", "${}{}", "{}={}"]).format(
            ident, ident[::-1])
    return clip(s)


def gen_emoji(rng):
    parts = []
    for _ in range(rng.randint(1, 6)):
        r = rng.random()
        if r < 0.5:
            parts.append(rng.choice(EMOJI))
        elif r < 0.65:  # random flag, possibly not a real country
            parts.append(chr(0x1F1E6 + rng.randrange(26)) + chr(0x1F1E6 + rng.randrange(26)))
        elif r < 0.8:  # base + skin tone, or lone modifier
            base = chr(rng.choice([0x1F44B, 0x1F44D, 0x1F590, 0x1F9D1, 0x1F468, 0x1F469, 0x270C]))
            parts.append(base + chr(0x1F3FB + rng.randrange(5)) if rng.random() < 0.8 else chr(0x1F3FB + rng.randrange(5)))
        elif r < 0.9:  # ZWJ chain of random emoji
            parts.append("\u200d".join(chr(rng.randint(0x1F300, 0x1FAFF)) for _ in range(rng.randint(2, 4))))
        else:
            parts.append(chr(rng.randint(0x1F300, 0x1FAFF)) + rng.choice(["", "\ufe0f", "\ufe0e", "\u20e3"]))
        if rng.random() < 0.3:
            parts.append(rng.choice([" ", "  ", "\n", "a", "ok", "!", "日本", " text "]))
    return clip("".join(parts))


def gen_whitespace(rng):
    parts = []
    for _ in range(rng.randint(1, 8)):
        r = rng.random()
        if r < 0.6:
            parts.append(rng.choice(WS[:10]) * rng.randint(1, 6))
        elif r < 0.75:
            parts.append(rng.choice(WS))
        else:
            parts.append(rng.choice(["a", "word", "x y", "Hello", "ß", "日本", "1", ".", "'s", "é", "🦙"]))
    s = "".join(parts)
    if rng.random() < 0.1:
        s = rng.choice(WS[:6]) * rng.randint(1, 60)
    return clip(s)


def gen_digits(rng):
    r = rng.random()
    if r < 0.25:
        s = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 40)))
    elif r < 0.45:
        s = "{}.{}".format(rng.randint(0, 10 ** rng.randint(1, 12)), rng.randint(0, 10 ** rng.randint(1, 8)))
        if rng.random() < 0.3:
            s = "-" + s
        if rng.random() < 0.2:
            s += "e" + str(rng.randint(-30, 30))
    elif r < 0.6:
        s = "{:,}".format(rng.randint(0, 10 ** rng.randint(3, 15)))
        if rng.random() < 0.3:
            s = s.replace(",", rng.choice([" ", ".", "'", "\u202f"]))
    elif r < 0.8:
        parts = []
        for _ in range(rng.randint(2, 6)):
            parts.append(rng.choice([str(rng.randint(0, 99999)), rng.choice(["abc", "x", "v", "th", "kg", "ÄÖ",
                                                                              "px", "_", "-", "%", "$", "€", " "])]))
        s = "".join(parts)
    elif r < 0.9:
        s = rng.choice(["{}:{:02d}:{:02d}", "{}-{:02d}-{:02d}", "{}/{}/{}", "v{}.{}.{}", "{}.{}.{}.{}",
                        "+{} ({}) {}"]).format(*[rng.randint(0, 2025) for _ in range(4)])
    else:  # non-ASCII digits
        zero = rng.choice([0x660, 0x6F0, 0x966, 0xE50, 0xFF10, 0x9E6, 0x1D7CE])
        s = "".join(chr(zero + rng.randrange(10)) for _ in range(rng.randint(1, 12)))
        if rng.random() < 0.5:
            s = str(rng.randint(0, 999)) + s
    return clip(s)


def gen_contractions(rng):
    parts = []
    for _ in range(rng.randint(1, 5)):
        w = rng.choice(CONTRACTION_WORDS)
        c = rng.choice(CONTRACTIONS)
        tail = rng.choice(["", "", " ", "s", "x", "'", ".", "!", "1", "é", " 's"])
        parts.append(w + c + tail)
    s = rng.choice([" ", "", "\n", ", "]).join(parts)
    if rng.random() < 0.2:
        s = rng.choice([s.upper(), s.lower()])
    return clip(s)


def gen_punct(rng):
    parts = []
    for _ in range(rng.randint(1, 6)):
        r = rng.random()
        if r < 0.6:
            parts.append("".join(rng.choice(PUNCT) for _ in range(rng.randint(1, 8))))
        elif r < 0.75:
            parts.append(rng.choice(PUNCT) * rng.randint(2, 12))
        else:
            parts.append(rng.choice([" ", "a", "Hello", "  ", "\n", "123", "é", "мир", "中"]))
    return clip("".join(parts))


def rand_scalar(rng):
    r = rng.random()
    if r < 0.3:
        cp = rng.randint(0, 0x7F)
    elif r < 0.55:
        cp = rng.randint(0x80, 0xFFFF)
    elif r < 0.7:
        cp = rng.randint(0x10000, 0x1FFFF)
    elif r < 0.85:
        cp = rng.randint(0x20000, 0x10FFFF)
    else:
        cp = rng.choice([0x0, 0x7F, 0x80, 0x9F, 0xAD, 0x300, 0x301, 0x34F, 0x200B, 0x200C, 0x200D, 0x200E, 0x202E,
                         0x2060, 0xFE0F, 0xFEFF, 0xFFFC, 0xFFFD, 0xFFFE, 0xFFFF, 0xE000, 0xF8FF, 0x1D400, 0xE0001,
                         0xE0041, 0xF0000, 0x10FFFD, 0x10FFFF, 0x1FFFE])
    if 0xD800 <= cp <= 0xDFFF:
        cp = 0xE000 + (cp - 0xD800)
    return chr(cp)


def gen_unicode(rng):
    s = "".join(rand_scalar(rng) for _ in range(rng.randint(1, 16)))
    if rng.random() < 0.3:
        s = rng.choice(["a", " ", "e", "Hello "]) + s + rng.choice(["", " ", "z"])
    return clip(s)


def gen_bytes(rng):
    r = rng.random()
    if r < 0.35:
        b = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
    elif r < 0.6:
        b = b"".join(rng.choice(INVALID_SEQS) for _ in range(rng.randint(1, 4)))
    else:
        text = rng.choice(["hello ", "Hello world", " a", "日本語", "🦙", "café", "Привет", "  ", "x\n", "'s", "123"])
        t = text.encode()
        i = rng.randint(0, len(t))
        b = t[:i] + rng.choice(INVALID_SEQS) + t[i:]
        if rng.random() < 0.3:
            b += rng.choice(INVALID_SEQS)
        if rng.random() < 0.2:  # a valid multi-byte character cut short
            full = rng.choice(["é", "日", "🦙", "ß", "€"]).encode()
            b += full[:rng.randint(1, len(full) - 1)]
    return b[:MAX_BYTES]


def gen_special(rng):
    parts = []
    for _ in range(rng.randint(1, 5)):
        if rng.random() < 0.55:
            parts.append(rng.choice(SPECIAL_STRINGS))
        else:
            parts.append(rng.choice(["user", "assistant", "Hello", " ", "\n", "system\nYou are helpful.", "hi",
                                     "What is 2+2?", " <", ">", "|", "Ça va?", "日本"]))
    return clip("".join(parts))


GENERATORS = {
    "multilingual": (gen_multilingual, 900),
    "code": (gen_code, 600),
    "emoji": (gen_emoji, 400),
    "whitespace": (gen_whitespace, 400),
    "digits": (gen_digits, 400),
    "contractions": (gen_contractions, 400),
    "punctuation": (gen_punct, 300),
    "unicode": (gen_unicode, 700),
    "bytes": (gen_bytes, 400),
    "special": (gen_special, 300),
}


def gen_mixed(rng):
    names = list(GENERATORS)
    s = b""
    for _ in range(rng.randint(2, 4)):
        piece = GENERATORS[rng.choice(names)][0](rng)
        s += piece if isinstance(piece, bytes) else piece.encode()
    s = s[:MAX_BYTES]
    try:
        return s.decode("utf-8")
    except UnicodeDecodeError:
        return s


GENERATORS["mixed"] = (gen_mixed, 600)

# Strings worth having verbatim (edge cases), in category "fixed".
FIXED = ["", " ", "  ", "\n", "\t", "\r\n", "a", "A", "'s", "'", "''", "0", "00", "000", "0000", "1234567890",
         "Hello", " Hello", "Hello ", "  Hello", "Hello  ", "Hello\n", "\nHello", "Hello World", "hello world",
         "Hello, world!", "I'm", "I've", "you'll", "DON'T", "it's", "3.14", "1,000,000", "\u0000", "a\u0000b",
         "\ufeffHello", "\ufffd", "é", "e\u0301", "ﬁ", "Å", "Å", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "🦙", "🦙🦙", " 🦙", "<|im_start|>",
         "<|im_end|>", "<start_of_turn>", "<bos>", "\u2581", "\u2581Hello", "Ġ", "   \n\n\t\t  ", "....", "!!!!",
         "\u00a0", "\u3000", "ĠHello", "<0x0A>"]


def build_corpus(seed):
    rng = random.Random(seed)
    seen = set()
    strings = []
    categories = {}

    def add(s):
        key = s if isinstance(s, bytes) else s.encode()
        if key in seen:
            return False
        seen.add(key)
        strings.append(s)
        return True

    categories["fixed"] = sum(add(s) for s in FIXED)
    for name, (gen, count) in GENERATORS.items():
        n = 0
        tries = 0
        while n < count and tries < count * 50:
            tries += 1
            s = gen(rng)
            if isinstance(s, bytes):
                try:
                    s = s.decode("utf-8")  # valid after all: store as a string
                except UnicodeDecodeError:
                    pass
            n += add(s)
        categories[name] = n
    return strings, categories


def to_bytes(s):
    return s if isinstance(s, bytes) else s.encode("utf-8")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=os.path.expanduser("~/.cache/hearth/models"))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data",
                                                  "tokenizer"))
    ap.add_argument("--seed", type=int, default=20240611)
    args = ap.parse_args()

    import llama_cpp

    strings, categories = build_corpus(args.seed)
    os.makedirs(args.out, exist_ok=True)
    n_invalid = sum(isinstance(s, bytes) for s in strings)
    corpus = {
        "seed": args.seed,
        "categories": [[k, v] for k, v in categories.items()],  # a list: order matters
        "strings": [{"hex": s.hex()} if isinstance(s, bytes) else s for s in strings],
    }
    with open(os.path.join(args.out, "corpus.json"), "w", encoding="utf-8") as f:
        json.dump(corpus, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"corpus: {len(strings)} strings ({n_invalid} not UTF-8), {categories}", file=sys.stderr)

    for name, file in MODELS.items():
        tokens, excluded = tokenize_all(os.path.join(args.models, file), strings)
        out = {"model": file, "llama_cpp_python": llama_cpp.__version__, "excluded": excluded}
        path = os.path.join(args.out, name + ".json")
        with open(path, "w") as f:
            f.write("{" + ",".join(f"{json.dumps(k)}:{json.dumps(v, separators=(',', ':'))}" for k, v in out.items()))
            f.write(',"tokens":[\n')  # one line per string: diffs stay readable
            f.write(",\n".join(json.dumps(t, separators=(",", ":")) for t in tokens))
            f.write("\n]}\n")
        n_ids = sum(len(t) for t in tokens if t)
        print(f"{name}: {n_ids} ids, {len(excluded)} excluded, {os.path.getsize(path)} bytes", file=sys.stderr)
        for i in excluded[:5]:
            print(f"  excluded {i}: {to_bytes(strings[i])!r}", file=sys.stderr)


def worker(model_path, start):
    """Tokenizes corpus strings (hex lines on stdin) from index `start` on, printing "i ids" per string.
    llama.cpp aborts the process on some inputs (an uncaught C++ exception): the parent notices the
    missing line, excludes that string and starts a new worker after it."""
    import llama_cpp

    llm = llama_cpp.Llama(model_path, vocab_only=True, verbose=False)
    for i, line in enumerate(sys.stdin):
        if i < start:
            continue
        ids = llm.tokenize(bytes.fromhex(line.strip()), add_bos=False, special=False)
        sys.stdout.write(f"{i} {json.dumps(ids, separators=(',', ':'))}\n")
        sys.stdout.flush()


def tokenize_all(model_path, strings):
    import subprocess

    feed = "".join(to_bytes(s).hex() + "\n" for s in strings).encode()
    tokens = [None] * len(strings)
    excluded = []
    start = 0
    while start < len(strings):
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", model_path, str(start)],
                           input=feed, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=dict(os.environ, GGML_NO_BACKTRACE="1"))
        for line in p.stdout.decode().splitlines():
            i, ids = line.split(" ", 1)
            tokens[int(i)] = json.loads(ids)
            start = int(i) + 1
        if p.returncode != 0:
            what = [l for l in p.stderr.decode(errors="replace").splitlines() if "what()" in l]
            excluded.append(start)
            start += 1
    return tokens, excluded

if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        worker(sys.argv[2], int(sys.argv[3]))
    else:
        main()
