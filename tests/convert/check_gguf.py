#!/usr/bin/env python3
"""Checks a GGUF written by `hearth convert` with the `gguf` package's reader, against the safetensors it came from.

Usage: check_gguf.py OUT.gguf MODEL_DIR EXPECTED.json TYPE

Independently of hearth's code, it applies the documented transformations (convert/hf_arch.h, llama.cpp's
convert_hf_to_gguf.py) to the safetensors values and compares every tensor: the name mapping, GGUF ne = reversed
shape, llama's q/k row permutation, Gemma 3's norm + 1, which tensors stay F32, and the values (F32 exactly; F16 and
BF16 as numpy rounds the F32 value; Q8_0 byte for byte as gguf-py's quantizer, which the Python converter runs). Every source tensor must be used and
nothing else written. Then the metadata: general.architecture, the "<arch>.*" keys of EXPECTED.json, the chat
template, the tokenizer model. Prints what differs and exits 1, else prints a summary line.
"""
import json
import os
import sys

import numpy as np
import safetensors.numpy
from gguf import GGMLQuantizationType as Q
from gguf import GGUFReader
from gguf.quants import quantize


def load_safetensors(model_dir):
    index = os.path.join(model_dir, "model.safetensors.index.json")
    files = sorted(set(json.load(open(index))["weight_map"].values())) if os.path.exists(index) else [
        "model.safetensors"]
    out = {}
    for f in files:
        path = os.path.join(model_dir, f)
        raw = open(path, "rb").read()
        n = int.from_bytes(raw[:8], "little")
        header = json.loads(raw[8:8 + n])
        if any(v.get("dtype") == "BF16" for k, v in header.items() if k != "__metadata__"):
            for name, v in header.items():  # numpy has no bfloat16: widen the 16 bits
                if name == "__metadata__":
                    continue
                b, e = v["data_offsets"]
                u16 = np.frombuffer(raw[8 + n + b:8 + n + e], dtype="<u2").astype(np.uint32)
                out[name] = (u16 << 16).view(np.float32).reshape(v["shape"])
        else:
            out.update({k: v.astype(np.float32) for k, v in safetensors.numpy.load_file(path).items()})
    return out


LAYER = {"input_layernorm.weight": "attn_norm.weight", "self_attn.q_proj.weight": "attn_q.weight",
         "self_attn.k_proj.weight": "attn_k.weight", "self_attn.v_proj.weight": "attn_v.weight",
         "self_attn.o_proj.weight": "attn_output.weight", "self_attn.q_proj.bias": "attn_q.bias",
         "self_attn.k_proj.bias": "attn_k.bias", "self_attn.v_proj.bias": "attn_v.bias",
         "self_attn.qkv_proj.weight": "attn_qkv.weight", "self_attn.q_norm.weight": "attn_q_norm.weight",
         "self_attn.k_norm.weight": "attn_k_norm.weight", "mlp.gate_proj.weight": "ffn_gate.weight",
         "mlp.up_proj.weight": "ffn_up.weight", "mlp.gate_up_proj.weight": "ffn_up.weight",
         "mlp.down_proj.weight": "ffn_down.weight", "pre_feedforward_layernorm.weight": "ffn_norm.weight",
         "post_feedforward_layernorm.weight": "post_ffw_norm.weight"}


def gguf_name(hf, arch):
    if hf == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf == "model.norm.weight":
        return "output_norm.weight"
    if hf == "lm_head.weight":
        return "output.weight"
    parts = hf.split(".")
    rest = ".".join(parts[3:])
    if rest == "post_attention_layernorm.weight":
        return f"blk.{parts[2]}." + ("post_attention_norm.weight" if arch == "gemma3" else "ffn_norm.weight")
    return f"blk.{parts[2]}.{LAYER[rest]}"


def permute(w, n_head):  # llama.cpp's LlamaModel.permute
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def to_bf16(x):
    u = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    return ((((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16).astype(np.uint32)).view(np.float32)


def main():
    gguf_path, model_dir, expected_path, out_type = sys.argv[1:5]
    expected = json.load(open(expected_path))
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    arch = expected["arch"]
    reader = GGUFReader(gguf_path)
    errors = []

    def field(key):
        f = reader.get_field(key)
        return None if f is None else f.contents()

    if field("general.architecture") != arch:
        errors.append(f"general.architecture {field('general.architecture')!r} != {arch!r}")
    for key, want in expected["metadata"].items():
        got = field(key)
        if got is None or (isinstance(want, float) and abs(got - want) > 1e-6 * max(1, abs(want))) or \
                (not isinstance(want, float) and got != want):
            errors.append(f"metadata {key}: {got!r} != {want!r}")
    if field("tokenizer.chat_template") != expected["chat_template"]:
        errors.append("tokenizer.chat_template differs from tokenizer_config.json's")
    want_model = "gpt2" if json.load(open(os.path.join(model_dir, "tokenizer.json")))["model"].get(
        "byte_fallback") is not True else "llama"
    if field("tokenizer.ggml.model") != want_model:
        errors.append(f"tokenizer.ggml.model {field('tokenizer.ggml.model')!r} != {want_model!r}")
    if len(field("tokenizer.ggml.tokens")) != expected["n_vocab"]:
        errors.append(f"{len(field('tokenizer.ggml.tokens'))} tokens, config vocab_size {expected['n_vocab']}")

    # Token types and special ids as llama.cpp's converter assigns them: added tokens marked special are control,
    # <0xXX> tokens (byte fallback) byte, ids past the tokenizer's unused; eos is tokenizer_config's eos_token.
    tj = json.load(open(os.path.join(model_dir, "tokenizer.json")))
    tc = json.load(open(os.path.join(model_dir, "tokenizer_config.json")))
    types = list(field("tokenizer.ggml.token_type"))
    tokens = list(field("tokenizer.ggml.tokens"))
    n_real = max([*tj["model"]["vocab"].values(), *(a["id"] for a in tj["added_tokens"])]) + 1
    for a in tj["added_tokens"]:
        if a["special"] and types[a["id"]] != 3:
            errors.append(f"added special token {a['content']!r} has type {types[a['id']]}, not control (3)")
    for i in range(n_real, len(types)):
        if types[i] != 5:
            errors.append(f"padding token {i} {tokens[i]!r} has type {types[i]}, not unused (5)")
    if want_model == "llama":
        for t, i in tj["model"]["vocab"].items():
            if t.startswith("<0x") and len(t) == 6 and types[i] != 6:
                errors.append(f"byte token {t} has type {types[i]}, not byte (6)")
    eos = next(a["id"] for a in tj["added_tokens"] if a["content"] == tc["eos_token"])
    if field("tokenizer.ggml.eos_token_id") != eos:
        errors.append(f"eos id {field('tokenizer.ggml.eos_token_id')} != {eos} ({tc['eos_token']})")
    rs = cfg.get("rope_scaling") or {}
    if rs.get("rope_type") == "llama3":  # llama.cpp's LlamaModel.generate_extra_tensors
        dim = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
        freqs = 1.0 / (cfg["rope_theta"] ** (np.arange(0, dim, 2, dtype=np.float32) / dim))
        lo, hi, old = rs["low_freq_factor"], rs["high_freq_factor"], rs["original_max_position_embeddings"]
        want = []
        for f in freqs:
            wavelen = 2 * np.pi / f
            smooth = (old / wavelen - lo) / (hi - lo)
            want.append(1 if wavelen < old / hi else rs["factor"] if wavelen > old / lo else
                        1 / ((1 - smooth) / rs["factor"] + smooth))
        rf = next((t for t in reader.tensors if t.name == "rope_freqs.weight"), None)
        if rf is None or not np.allclose(np.asarray(rf.data), np.array(want, np.float32), rtol=1e-6):
            errors.append("rope_freqs.weight is not llama.cpp's llama3 factors")

    src = load_safetensors(model_dir)
    got = {t.name: t for t in reader.tensors}
    used = set()
    target = {"F32": Q.F32, "F16": Q.F16, "BF16": Q.BF16, "Q8_0": Q.Q8_0}[out_type]
    for hf, x in src.items():
        name = gguf_name(hf, arch)
        if arch == "llama" and hf.endswith("q_proj.weight"):
            x = permute(x, cfg["num_attention_heads"])
        if arch == "llama" and hf.endswith("k_proj.weight"):
            x = permute(x, cfg["num_key_value_heads"])
        if arch == "gemma3" and hf.endswith("norm.weight"):
            x = x + np.float32(1)
        t = got.get(name)
        if t is None:
            errors.append(f"{name} (from {hf}) is missing")
            continue
        used.add(name)
        if list(t.shape) != list(reversed(x.shape)):
            errors.append(f"{name}: ne {list(t.shape)} != reversed shape {list(reversed(x.shape))}")
            continue
        want_type = Q.F32 if x.ndim <= 1 or name.endswith("_norm.weight") else target
        if want_type == Q.Q8_0 and x.shape[-1] % 32:
            want_type = Q.F16
        if t.tensor_type != want_type:
            errors.append(f"{name}: type {t.tensor_type.name} != {want_type.name}")
            continue
        if t.tensor_type == Q.Q8_0:  # the bytes gguf-py's own quantizer (the Python converter's) makes
            if np.asarray(t.data).tobytes() != quantize(x.astype(np.float32), Q.Q8_0).tobytes():
                errors.append(f"{name}: Q8_0 blocks differ from gguf-py's quantization")
            continue
        if t.tensor_type == Q.BF16:  # the reader hands BF16 over as raw bytes
            y = (np.frombuffer(np.asarray(t.data).tobytes(), dtype="<u2").astype(np.uint32) << 16).view(np.float32)
            y = y.reshape(x.shape)
            want = to_bf16(x)
        elif t.tensor_type == Q.F16:
            y, want = np.asarray(t.data).reshape(x.shape), x.astype(np.float16)
        else:
            y, want = np.asarray(t.data).reshape(x.shape), x.astype(np.float32)
        if not np.array_equal(y.astype(np.float32), want.astype(np.float32)):
            d = np.abs(y.astype(np.float64) - want.astype(np.float64)).max()
            errors.append(f"{name}: values differ (max {d:g})")
    for key, name in (("long_factor", "rope_factors_long.weight"), ("short_factor", "rope_factors_short.weight")):
        if rs.get(key) is not None:  # Phi-3 LongRoPE: the config's factors as F32 tensors
            used.add(name)
            if name not in got or not np.array_equal(np.asarray(got[name].data), np.array(rs[key], np.float32)):
                errors.append(f"{name} is not the config's rope_scaling {key}")
    extra = sorted(set(got) - used - {"rope_freqs.weight"})
    if extra:
        errors.append(f"tensors not from the safetensors: {extra}")
    if (arch == "llama" and (cfg.get("rope_scaling") or {}).get("rope_type") == "llama3") != ("rope_freqs.weight" in
                                                                                               got):
        errors.append("rope_freqs.weight present/absent against the config's rope scaling")
    for e in errors:
        print("check_gguf:", e)
    if errors:
        return 1
    print(f"check_gguf: {gguf_path}: {len(got)} tensors and {len(expected['metadata'])} keys as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
