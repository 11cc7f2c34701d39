#!/usr/bin/env python3
"""Golden data for `hearth inspect`, read from each fixture model by the `gguf` PyPI package
(an independent GGUF reader). The C++ test (tests/cli/test_inspect.cpp) compares hearth's report
with these files field by field.

Usage: tools/make-inspect-golden.py [--models DIR] [--out tests/data/inspect]
Needs: pip install gguf numpy   (e.g. the venv at ~/.cache/hearth/venv)
"""
import argparse
import json
import os
import sys

import gguf

MODELS = {
    "smollm2-135m": "SmolLM2-135M-Instruct.Q4_1.gguf",
    "gemma3-270m": "gemma-3-270m-q4_k_m.gguf",
    "qwen2.5-coder-0.5b": "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
}
SPECIAL = ["bos", "eos", "eot", "eom", "unknown", "separator", "padding", "mask", "cls",
           "fim_pre", "fim_suf", "fim_mid", "fim_pad", "fim_rep", "fim_sep"]


def field(r, key):
    f = r.fields.get(key)
    return None if f is None else f.contents()


def golden(path):
    r = gguf.GGUFReader(path)
    arch = field(r, "general.architecture")
    tokens = field(r, "tokenizer.ggml.tokens") or []
    out = {
        "file_size": os.path.getsize(path),
        "gguf_version": int(field(r, "GGUF.version")),
        "n_kv": int(field(r, "GGUF.kv_count")),
        "n_tensors": len(r.tensors),
        "architecture": arch,
        "name": field(r, "general.name"),
        "general_file_type": field(r, "general.file_type"),
        "n_params": int(sum(int(t.n_elements) for t in r.tensors)),
        "tensor_bytes": int(sum(int(t.n_bytes) for t in r.tensors)),
        "data_offset": int(r.data_offset),
    }
    for k in ["context_length", "embedding_length", "block_count", "feed_forward_length",
              "attention.head_count", "attention.head_count_kv"]:
        v = field(r, f"{arch}.{k}")
        out[k.replace("attention.", "")] = max(v) if isinstance(v, list) else v
    mix = {}
    for t in r.tensors:
        m = mix.setdefault(t.tensor_type.name.lower(), {"n_tensors": 0, "n_elements": 0, "n_bytes": 0})
        m["n_tensors"] += 1
        m["n_elements"] += int(t.n_elements)
        m["n_bytes"] += int(t.n_bytes)
    out["quant_mix"] = mix
    out["tokenizer"] = {
        "model": field(r, "tokenizer.ggml.model"),
        "pre": field(r, "tokenizer.ggml.pre"),
        "vocab_size": len(tokens),
        "add_bos": field(r, "tokenizer.ggml.add_bos_token"),
        "add_eos": field(r, "tokenizer.ggml.add_eos_token"),
    }
    specials = {}
    for role in SPECIAL:
        tid = field(r, f"tokenizer.ggml.{role}_token_id")
        if tid is not None:
            specials[role] = {"id": int(tid), "text": tokens[tid] if 0 <= tid < len(tokens) else ""}
    out["special_tokens"] = specials
    tmpl = field(r, "tokenizer.chat_template")
    out["chat_template"] = {"present": tmpl is not None,
                            "bytes": len(tmpl.encode("utf-8")) if tmpl is not None else 0}
    # Tensor table: name, type, shape (ne order, fastest first), absolute data offset, bytes.
    out["tensors"] = [[t.name, t.tensor_type.name.lower(), [int(x) for x in t.shape],
                       int(t.data_offset), int(t.n_bytes)] for t in r.tensors]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=os.environ.get("HEARTH_MODELS") or os.path.expanduser("~/.cache/hearth/models"))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "data", "inspect"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name, fname in MODELS.items():
        g = golden(os.path.join(args.models, fname))
        with open(os.path.join(args.out, name + ".json"), "w") as f:
            json.dump(g, f, indent=0, ensure_ascii=True)
            f.write("\n")
        print(f"{name}: {g['n_tensors']} tensors, {g['n_params']} params")
    return 0


if __name__ == "__main__":
    sys.exit(main())
