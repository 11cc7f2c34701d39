#!/usr/bin/env python3
"""Golden logits for hearth's forward pass, made by llama.cpp (through the `llama-cpp-python` PyPI
package) from each fixture model. Tests compare hearth's logits / greedy continuations against them.

Usage: tools/make-logits-golden.py [--models DIR] [--out tests/data/logits] [--only NAME ...]
Needs: pip install llama-cpp-python numpy   (e.g. the venv at ~/.cache/hearth/venv). CPU only.

Method (per model, one llama.cpp context; per prompt the KV cache is cleared first):
  * Prompt tokens come from the model's own llama.cpp tokenizer applied to a fixed text (below),
    with BOS prepended iff the model's metadata says add_bos (llama_vocab_get_add_bos). Chat prompts
    are tokenized with special-token parsing on (so <|im_start|> etc. become single tokens); the
    other texts with it off. The "one_token" prompt is [BOS] when the model adds BOS, else the single
    token that "Hello" tokenizes to.
  * The prompt is decoded in batches of n_batch (logits only for the last position), then 64 greedy
    steps are taken one token at a time. Greedy = argmax of the float32 logits, ties -> lowest id.
    Generation does NOT stop at EOS/EOG; `eog_in_greedy` tells whether an end-of-generation token
    appeared.
  * Row k of `steps` (k = 0..16) is the logits row that predicts greedy[k]: row 0 at the last prompt
    position, row k after feeding greedy[0..k-1]. The script asserts top[0][0] == greedy[k].
  * Cross-check: the prompt + greedy[0..15] is then re-decoded from scratch in batches and the last
    row compared with row 16 (`check` field). llama.cpp itself is not batch-invariant (see Runner):
    this measures its own noise floor.
  * KV cache: F16 (llama.cpp's default, what users run), flash attention off (its default). For
    calibrating tolerances, `check` also gives how far row 0 moves with an F32 K/V cache.

Output: <out>/<model>.json, compact JSON, floats rounded to 7 significant digits:
{
  "format": "hearth-logits-golden-1",
  "model": short name, "model_file": file name, "model_sha256": hex,
  "llama_cpp_python_version": str,
  "n_ctx": int, "n_batch": int, "n_ubatch": int, "n_threads": 2,
  "kv_cache_type": "f16", "flash_attn": false,
  "hparams": {"arch", "n_vocab", "n_ctx_train", "n_embd", "n_layer", "n_head", "n_head_kv",
              "n_swa", "add_bos", "bos", "eos", "eot"},   (-1 = none)
  "eog_tokens": [ids of EOG tokens seen in any greedy continuation],
  "prompts": [{
     "name": str,
     "text": the text given to the llama.cpp tokenizer (BOS not spelled out),
     "parse_special": bool, "add_bos": bool,
     "tokens": [prompt token ids],
     "steps": [ 17 (gemma3-270m: 64) x {"pos": position of the last token fed (n_tokens-1),
                      "top": [[id, logit], ... 64] sorted by logit desc, ties by id asc,
                      "lse": log(sum(exp(row))) over the full float32 row, computed in float64} ],
     "greedy": [64 ids],
     "greedy_text": llama.cpp detokenization of greedy, special tokens rendered (utf-8, errors
                    replaced; informative only),
     "top2_gap": [64 floats: logit(top1) - logit(top2) of the row predicting greedy[k]],
     "eog_in_greedy": bool, "first_eog_step": int or -1,
     "check": {"batch_max_abs_diff_row16": float (full row),
               "batch_max_logprob_diff_top64_row16": float (|diff| of log-softmax over row 16's top-64 ids),
               "batch_argmax_match_row16": bool,
               "f16kv_max_abs_diff_row0", "f16kv_max_logprob_diff_top64_row0", "f16kv_argmax_match_row0"}
  }, ...]
}
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import llama_cpp
from llama_cpp import Llama

from golden_common import file_sha256

MODELS = {
    "smollm2-135m": "SmolLM2-135M-Instruct.Q4_1.gguf",
    "gemma3-270m": "gemma-3-270m-q4_k_m.gguf",
    "qwen2.5-coder-0.5b": "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    # The mission-size model (scripts/fetch-models --only qwen2.5-coder-1.5b); its test is opt-in.
    "qwen2.5-coder-1.5b": "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
}
CHAT_STYLE = {"smollm2-135m": "chatml", "gemma3-270m": "gemma", "qwen2.5-coder-0.5b": "chatml",
              "qwen2.5-coder-1.5b": "chatml"}
SYSTEM = {
    "smollm2-135m": "You are a helpful AI assistant named SmolLM, trained by Hugging Face",
    "qwen2.5-coder-0.5b": "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
    "qwen2.5-coder-1.5b": "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
}

N_CTX = 2048
N_BATCH = 512
N_THREADS = 2
N_GREEDY = 64
N_ROWS = 17  # rows kept per prompt (--rows; gemma3-270m's golden keeps 64, see ROWS_OF)
CHECK_ROW = 16  # the row the batch cross-check re-decodes (the noise floor), whatever N_ROWS is
# Models whose golden keeps more rows: gemma3-270m amplifies rounding differences so much (llama.cpp's own
# batch-vs-sequential noise floor is 2.3 logits) that 17 rows per prompt leave its top-1 agreement rate to chance.
ROWS_OF = {"gemma3-270m": 64}
TOP_K = 64

QUESTION = "What is the capital of France?"
CHAT_USER = "What is the capital of France? Answer in one sentence."
CODE = '''def fibonacci(n):
    """Return the n-th Fibonacci number."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def is_prime(n):
'''
MULTILINGUAL = ("Le chat dort sur le canapé. Der Hund läuft im Park. "
                "El niño come una manzana. Кошка сидит на окне. "
                "猫はソファの上で寝ています。我喜欢在周末读书。"
                "고양이가 잠을 자고 있다. Ο ήλιος λάμπει σήμερα. 🐱🌞 ")


def long_text():
    """Deterministic English paragraph (LCG over fixed word lists), ~2800 characters, ~700 tokens."""
    subj = ["The old farmer", "A young teacher", "The tired traveler", "My neighbor", "The river guide",
            "A quiet student", "The village baker", "Our captain", "The clever fox", "A lonely painter"]
    verb = ["walked slowly toward", "carefully examined", "quietly remembered", "happily visited",
            "never forgot", "often described", "finally reached", "gently repaired"]
    obj = ["the stone bridge", "a small wooden house", "the northern forest", "an ancient library",
           "the busy market", "a forgotten garden", "the harbor at dawn", "the snowy mountain pass"]
    tail = ["before the sun went down.", "while the children were singing.", "after a long and difficult winter.",
            "because nobody else wanted to go.", "on the first morning of spring.",
            "with a basket full of apples.", "as the rain began to fall.", "without saying a single word."]
    s = 12345
    out = []
    for _ in range(48):
        parts = []
        for lst in (subj, verb, obj, tail):
            s = (1103515245 * s + 12345) % (1 << 31)
            parts.append(lst[(s >> 16) % len(lst)])
        out.append(" ".join(parts))
    return " ".join(out)


def chat_text(model):
    if CHAT_STYLE[model] == "gemma":
        return f"<start_of_turn>user\n{CHAT_USER}<end_of_turn>\n<start_of_turn>model\n"
    return (f"<|im_start|>system\n{SYSTEM[model]}<|im_end|>\n"
            f"<|im_start|>user\n{CHAT_USER}<|im_end|>\n<|im_start|>assistant\n")



def r7(x):
    return float(f"{float(x):.7g}")


def row_summary(row):
    order = np.argsort(-row, kind="stable")[:TOP_K]  # desc by logit, ties -> lowest id
    r64 = row.astype(np.float64)
    m = r64.max()
    lse = m + np.log(np.exp(r64 - m).sum())
    return [[int(i), r7(row[i])] for i in order], r7(lse)


def log_softmax(row):
    r = row.astype(np.float64)
    m = r.max()
    return r - (m + np.log(np.exp(r - m).sum()))


def compare(what, row_name, other, golden_row):
    top = np.argsort(-golden_row, kind="stable")[:TOP_K]
    return {
        f"{what}_max_abs_diff_{row_name}": r7(np.abs(other - golden_row).max()),
        f"{what}_max_logprob_diff_top64_{row_name}": r7(np.abs(log_softmax(other) - log_softmax(golden_row))[top].max()),
        f"{what}_argmax_match_{row_name}": int(np.argmax(other)) == int(np.argmax(golden_row)),
    }


def top2_gap(row):
    i = int(np.argmax(row))
    rest = row.copy()
    rest[i] = -np.inf
    return float(row[i]) - float(rest.max())


class Runner:
    def __init__(self, path, kv_f32=False):
        # kv_f32: F32 K/V cache (GGML_TYPE_F32 = 0), flash attention off: the most precise attention
        # llama.cpp's CPU backend offers (the default F16 cache rounds K, V and, in the non-flash path,
        # Q and the attention weights to F16). Note that llama.cpp's logits still depend on how tokens
        # are batched (quantized matmuls round activations to 8 bits, so rounding-level differences
        # between the batched and single-token kernels flip int8 roundings): typically 0.3-1 logit on
        # these models, see the `check` fields. Tests need tolerances of that order.
        kv = dict(type_k=0, type_v=0) if kv_f32 else {}
        self.llm = Llama(model_path=path, n_ctx=N_CTX, n_batch=N_BATCH, n_ubatch=N_BATCH,
                         n_threads=N_THREADS, n_threads_batch=N_THREADS, n_gpu_layers=0,
                         flash_attn=False, logits_all=False, verbose=False, **kv)
        self.ctx = self.llm._ctx.ctx
        self.model = self.llm._model.model
        self.vocab = llama_cpp.llama_model_get_vocab(self.model)
        self.n_vocab = self.llm.n_vocab()

    def clear(self):
        self.llm.reset()
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self.ctx), True)

    def feed(self, tokens):
        """Decode tokens after what is already in the cache; return float32 logits of the last one."""
        self.llm.eval(list(tokens))
        p = llama_cpp.llama_get_logits_ith(self.ctx, -1)
        return np.ctypeslib.as_array(p, shape=(self.n_vocab,)).astype(np.float32).copy()

    def tokenize(self, text, add_bos, special):
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=special))

    def is_eog(self, t):
        return bool(llama_cpp.llama_vocab_is_eog(self.vocab, t))


def run_prompt(rn, rn32, name, text, tokens, add_bos, special, n_rows):
    rn.clear()
    row = row0 = rn.feed(tokens)
    steps, greedy, gaps = [], [], []
    pos = len(tokens) - 1
    for k in range(N_GREEDY):
        t = int(np.argmax(row))  # first max -> lowest id
        greedy.append(t)
        gaps.append(r7(top2_gap(row)))
        if k < n_rows:
            top, lse = row_summary(row)
            assert top[0][0] == t, (name, k, top[0], t)
            steps.append({"pos": pos, "top": top, "lse": lse})
        if k == CHECK_ROW:
            row16 = row
        if k < N_GREEDY - 1:
            row = rn.feed([t])
            pos += 1
    # Cross-check: re-decode prompt + greedy[:16] from scratch in batches.
    rn.clear()
    chk = rn.feed(tokens + greedy[:CHECK_ROW])
    rn32.clear()
    r32 = rn32.feed(tokens)
    check = {**compare("batch", "row16", chk, row16), **compare("f32kv", "row0", r32, row0)}
    eog = [k for k, t in enumerate(greedy) if rn.is_eog(t)]
    return {
        "name": name, "text": text, "parse_special": special, "add_bos": add_bos,
        "tokens": [int(t) for t in tokens], "steps": steps, "greedy": greedy,
        "greedy_text": rn.llm.detokenize(greedy, special=True).decode("utf-8", errors="replace"),
        "top2_gap": gaps, "eog_in_greedy": bool(eog), "first_eog_step": eog[0] if eog else -1,
        "check": check,
    }


def golden(model, path):
    rn = Runner(path)
    rn32 = Runner(path, kv_f32=True)
    m, v = rn.model, rn.vocab
    add_bos = bool(llama_cpp.llama_vocab_get_add_bos(v))
    bos = int(llama_cpp.llama_vocab_bos(v))
    buf = (llama_cpp.ctypes.c_char * 256)()
    n = llama_cpp.llama_model_meta_val_str(m, b"general.architecture", buf, 256)
    arch = buf.value.decode() if n > 0 else ""
    hp = {
        "arch": arch, "n_vocab": rn.n_vocab,
        "n_ctx_train": int(llama_cpp.llama_model_n_ctx_train(m)),
        "n_embd": int(llama_cpp.llama_model_n_embd(m)), "n_layer": int(llama_cpp.llama_model_n_layer(m)),
        "n_head": int(llama_cpp.llama_model_n_head(m)), "n_head_kv": int(llama_cpp.llama_model_n_head_kv(m)),
        "n_swa": int(llama_cpp.llama_model_n_swa(m)), "add_bos": add_bos, "bos": bos,
        "eos": int(llama_cpp.llama_vocab_eos(v)), "eot": int(llama_cpp.llama_vocab_eot(v)),
    }
    specs = [("question", QUESTION, False), ("chat", chat_text(model), True), ("code", CODE, False),
             ("multilingual", MULTILINGUAL, False), ("long", long_text(), False)]
    prompts = []
    for name, text, special in specs:
        toks = rn.tokenize(text, add_bos, special)
        if name == "long":
            assert 600 < len(toks) and len(toks) + N_GREEDY <= N_CTX, len(toks)
        prompts.append((name, text, toks, special))
    if add_bos:
        prompts.insert(4, ("one_token", "", [bos], False))
    else:
        toks = rn.tokenize("Hello", False, False)
        assert len(toks) == 1, toks
        prompts.insert(4, ("one_token", "Hello", toks, False))

    out = {
        "format": "hearth-logits-golden-1", "model": model, "model_file": os.path.basename(path),
        "model_sha256": file_sha256(path), "llama_cpp_python_version": llama_cpp.__version__,
        "n_ctx": N_CTX, "n_batch": N_BATCH, "n_ubatch": N_BATCH, "n_threads": N_THREADS,
        "kv_cache_type": "f16", "flash_attn": False,
        "hparams": hp, "prompts": [],
    }
    for name, text, toks, special in prompts:
        t0 = time.time()
        p = run_prompt(rn, rn32, name, text, toks, add_bos, special, ROWS_OF.get(model, N_ROWS))
        out["prompts"].append(p)
        print(f"  {name}: {len(toks)} tokens, {time.time() - t0:.1f}s, eog={p['first_eog_step']}, "
              f"check={p['check']}", file=sys.stderr)
    out["eog_tokens"] = sorted({t for p in out["prompts"] for t in p["greedy"] if rn.is_eog(t)})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=os.path.expanduser("~/.cache/hearth/models"))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "..", "tests", "data", "logits"))
    ap.add_argument("--only", nargs="*", default=None)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for model, fname in MODELS.items():
        if args.only and model not in args.only:
            continue
        path = os.path.join(args.models, fname)
        t0 = time.time()
        print(f"{model}:", file=sys.stderr)
        g = golden(model, path)
        dst = os.path.join(args.out, f"{model}.json")
        with open(dst, "w", encoding="utf-8") as f:
            json.dump(g, f, ensure_ascii=False, separators=(",", ":"))
            f.write("\n")
        print(f"  -> {dst} ({os.path.getsize(dst)} bytes, {time.time() - t0:.1f}s)", file=sys.stderr)


if __name__ == "__main__":
    main()
