#!/usr/bin/env python3
"""Golden embeddings from llama.cpp (the `llama-cpp-python` PyPI package, 0.3.36) for hearth's embedding tests.

Usage: ~/.cache/hearth/venv/bin/python tools/make-embed-golden.py [--models DIR] [--out tests/data/embed]
Needs the fixture models (scripts/fetch-models): all-MiniLM-L6-v2.F16.gguf, qwen2.5-coder-0.5b-instruct-q4_k_m.gguf.

Per model, `Llama(path, embedding=True, pooling_type=P, n_ctx=512, n_batch=512, n_ubatch=512, n_threads=2)` and
`Llama.embed(texts, normalize=False)`: one pooled vector per text, not normalized (the test compares cosines, so
the scale does not matter, and checks hearth's own L2 normalization separately).
  * all-minilm-l6-v2: BERT encoder, the file's pooling (mean), as sentence-transformers uses it.
  * qwen2.5-coder-0.5b: a generative decoder used for embeddings, pooling LAST (the hidden state of the last
    token after the final RMSNorm), as hearth pools decoders without a declared pooling and as
    Qwen3-Embedding-style models declare.
  * tiny-qwen3-embed: a Qwen3-Embedding-shaped model: tests/data/tiny/tiny-qwen3.gguf (random weights, the qwen3
    architecture's q/k norms and GQA; tools/make-tiny-models.py) re-written here as
    tests/data/embed/tiny-qwen3-embed.gguf with what Qwen3-Embedding's GGUF declares: `qwen3.pooling_type` 3
    (last), EOS appended to every input, and a Qwen3-Embedding name (hearth then offers Matryoshka `dimensions`).
    Its vocabulary is synthetic ("w<i>" words), so its texts are such words.
  * tiny-nomic-bert: a random-weight nomic-bert (RoPE, fused attn_qkv, SwiGLU, no biases; 2 layers, 32 wide) with
    the real bert-bge WordPiece vocabulary from the llama-cpp-python sdist (ggml-vocab-bert-bge.gguf), which is
    made by scripts/fetch-fixtures with tools/tiny_nomic_bert.py (not kept in git). No nomic-embed GGUF ships on PyPI.
Texts: short and long English, punctuation, digits, accents and CJK, whitespace runs, one of ~100 tokens.

Output `tests/data/embed/<model>.json`:
{"format": "hearth-embed-golden-1", "model": name, "model_file": file, "model_sha256": hex,
 "llama_cpp_python_version": str, "pooling": "mean"|"last", "n_embd": int,
 "items": [{"text": str, "tokens": [ids as llama.cpp tokenizes them for embed()], "embedding": [n_embd floats],
            "norm": float, "check": {"flash_attn_cosine": float}}]}
check.flash_attn_cosine: llama.cpp's own noise floor, the cosine between its vector and the one it computes with
flash attention on (its other CPU attention: same math, other summation order and rounding).
Floats are rounded to 7 significant digits.
"""
import argparse
import json
import os
import subprocess
import sys

import gguf
import llama_cpp
from llama_cpp import Llama

from golden_common import file_sha256

TEXTS = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "What is the capital of France? Paris is the capital and most populous city of France.",
    "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)",
    "Ünïcödé àccents, naïve café; 東京は日本の首都です。",
    "   leading and   multiple   spaces\tand\ttabs   ",
    "Numbers: 3.14159, 2,718, -42 and 1e10 -- with (brackets) [and] {braces}!?",
    ("Embeddings map text to vectors so that texts with similar meanings end up close together. "
     "Retrieval-augmented generation stores the vectors of many document chunks in an index; at question time "
     "it embeds the question, finds the nearest chunks by cosine similarity and hands them to a language model "
     "as context. Sentence encoders such as MiniLM are trained contrastively on pairs of related sentences, "
     "while decoder-based embedding models take the hidden state of the last token."),
]

TINY_TEXTS = ["w5", "w17 w3 w250", "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12", " ".join(f"w{(i * 37) % 300}" for i in range(25))]

# name -> (file, its folder: "models" (fixture) or "data", pooling given to llama.cpp, pooling name, texts)
MODELS = {
    "all-minilm-l6-v2": ("all-MiniLM-L6-v2.F16.gguf", "models", llama_cpp.LLAMA_POOLING_TYPE_MEAN, "mean", TEXTS),
    "qwen2.5-coder-0.5b": ("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "models", llama_cpp.LLAMA_POOLING_TYPE_LAST,
                           "last", TEXTS),
    "tiny-qwen3-embed": ("tiny-qwen3-embed.gguf", "data", llama_cpp.LLAMA_POOLING_TYPE_UNSPECIFIED, "last",
                         TINY_TEXTS),
    "tiny-nomic-bert": ("tiny-nomic-bert.gguf", "generated", llama_cpp.LLAMA_POOLING_TYPE_UNSPECIFIED, "mean", TEXTS),
}


def make_tiny_qwen3_embed(src, dst):
    """tiny-qwen3.gguf with Qwen3-Embedding's metadata (see the docstring); tensors copied byte for byte."""
    r = gguf.GGUFReader(src)
    w = gguf.GGUFWriter(dst, "qwen3")
    for field in r.fields.values():
        if field.name.startswith("GGUF.") or field.name in ("general.architecture", "general.name",
                                                            "tokenizer.ggml.add_eos_token"):
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(field.name, field.contents(), vtype, sub_type=sub)
    w.add_name("tiny-Qwen3-Embedding")
    w.add_pooling_type(gguf.PoolingType.LAST)
    w.add_add_eos_token(True)
    for t in r.tensors:
        w.add_tensor_info(t.name, t.data.shape, t.data.dtype, t.data.nbytes, t.tensor_type)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    for t in r.tensors:
        w.write_tensor_data(t.data)
    w.close()


def r7(x):
    return float(f"{x:.7g}")



def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=os.environ.get("HEARTH_MODELS") or os.path.expanduser("~/.cache/hearth/models"))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "data", "embed"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    data = os.path.join(os.path.dirname(__file__), "..", "tests", "data")
    make_tiny_qwen3_embed(os.path.join(data, "tiny", "tiny-qwen3.gguf"), os.path.join(args.out, "tiny-qwen3-embed.gguf"))
    # The tiny nomic-bert is not kept in git: scripts/fetch-fixtures makes it (tools/tiny_nomic_bert.py).
    generated = subprocess.run([os.path.join(os.path.dirname(__file__), "..", "scripts", "fetch-fixtures")],
                               check=True, stdout=subprocess.PIPE, text=True).stdout.strip() + "/generated"
    for name, (file, where, pooling, pooling_name, texts) in MODELS.items():
        path = os.path.join({"models": args.models, "generated": generated}.get(where, args.out), file)
        if not os.path.exists(path):
            print(f"{path} is missing: run scripts/fetch-models", file=sys.stderr)
            return 1
        llm = Llama(path, embedding=True, pooling_type=pooling, n_ctx=512, n_batch=512, n_ubatch=512, n_threads=2,
                    verbose=False)
        fa = Llama(path, embedding=True, pooling_type=pooling, n_ctx=512, n_batch=512, n_ubatch=512, n_threads=2,
                   flash_attn=True, verbose=False)
        items = []
        for text in texts:
            tokens = llm.tokenize(text.encode("utf-8"))  # what embed() feeds: add_bos=True, special=False
            vec = llm.embed(text, normalize=False)
            norm = sum(v * v for v in vec) ** 0.5
            vec_fa = fa.embed(text, normalize=False)
            cos_fa = sum(a * b for a, b in zip(vec, vec_fa)) / (norm * sum(b * b for b in vec_fa) ** 0.5)
            items.append({"text": text, "tokens": tokens, "embedding": [r7(v) for v in vec], "norm": r7(norm),
                          "check": {"flash_attn_cosine": r7(cos_fa)}})
        doc = {"format": "hearth-embed-golden-1", "model": name, "model_file": file, "model_sha256": file_sha256(path),
               "llama_cpp_python_version": llama_cpp.__version__, "pooling": pooling_name,
               "n_embd": len(items[0]["embedding"]), "items": items}
        out = os.path.join(args.out, name + ".json")
        with open(out, "w") as f:
            json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
            f.write("\n")
        print(f"{out}: {len(items)} texts, n_embd {doc['n_embd']}, tokens {[len(i['tokens']) for i in items]}")
        del llm, fa
    return 0


if __name__ == "__main__":
    sys.exit(main())
