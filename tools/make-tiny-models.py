#!/usr/bin/env python3
"""Tiny synthetic GGUF models (deterministic random weights) for architecture-coverage tests, and
golden logits for them from llama.cpp (through the `llama-cpp-python` PyPI package).

Real fixture models exist only for llama (SmolLM2), gemma3 and qwen2. These tiny models cover what
the engine implements beyond them -- qwen3 (q/k RMSNorm, key_length != n_embd/n_head), phi3 (fused
attn_qkv, gate+up fused in ffn_up), Llama 3.x RoPE frequency factors (`rope_freqs.weight`), GQA --
plus qwen2 (biases) and gemma3 (sliding window small enough to matter, local + global layers,
linear RoPE scaling on the global layers) as extra checks of the generic paths.

Usage: ~/.cache/hearth/venv/bin/python tools/make-tiny-models.py [--out tests/data/tiny] [--only NAME ...]
                                                                  [--models-only | --golden-only]
Needs: gguf (0.19), numpy, llama-cpp-python (0.3.36); CPU only, a few seconds.

Models (`tests/data/tiny/<name>.gguf`, each < 300 KB):
  * Weights: numpy default_rng(seed) normals, scaled so activations stay O(1) and logits spread over
    several units (greedy continuations are not constant). Norm weights 1 + 0.1 N(0,1) in F32.
  * Weight types: a mix that exercises the quantized kernels: Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 (quantized
    with gguf-py's reference quantizer), Q4_K, Q5_K, Q6_K, Q3_K, Q2_K, IQ4_NL (quantized by ggml
    itself: ggml_quantize_chunk from llama-cpp-python's bundled libggml-base, no imatrix), F16, BF16.
    K-quants need rows of 256, so they are used on ffn_down (n_ff = 256 columns).
  * Tokenizer: a synthetic SentencePiece ("llama") vocab: <unk> <s> </s>, the 256 byte tokens
    <0x00>..<0xFF>, five Phi-3 control tokens, then "▁w<i>" words. Only token ids are ever fed; the
    text side is never used.

Golden data (`tests/data/tiny/<name>.json`), llama.cpp with n_ctx 256, n_batch 256, 2 threads,
F16 KV cache, flash attention off (its defaults), per prompt the cache cleared first:
  * 3 prompts of random token ids in [3, n_vocab): lengths 1, 12, 40.
  * The prompt is decoded in one batch (logits of the last position only), then 32 greedy steps one
    token at a time. Greedy = argmax of the float32 logits, ties -> lowest id.
  * rows[k] (k = 0..8) is the FULL logits row predicting greedy[k]: row 0 at the last prompt
    position, row k after feeding greedy[0..k-1].
  * llama.cpp's own noise floor, three ways:
    - check.batch_max_abs_diff_row8: prompt + greedy[:8] re-decoded from scratch in one batch, max
      |Δlogit| of its last row against rows[8] (as tools/make-logits-golden.py). On real models
      llama.cpp is not batch-invariant; on these tiny ones it (nearly) is: 0 to ~0.1.
    - check.flash_attn_max_abs_diff: all 9 rows recomputed the same way with flash attention on
      (llama.cpp's other CPU attention: same math, other summation order and rounding), max |Δlogit|.
    - check.f32kv_max_abs_diff: the same with an F32 K/V cache instead of F16.
    The last two measure how far float-rounding-level changes in attention move the logits: every
    matmul input is rounded to 8 bits (Q8_0/Q8_K activations), so an ulp-level difference
    occasionally flips a rounding and moves logits by ~0.1. An independent implementation (hearth
    sums attention in another order than ggml's SIMD lanes) cannot be held closer than that.
{
  "format": "hearth-tiny-golden-1", "model": name, "model_file": file name, "model_sha256": hex,
  "llama_cpp_python_version": str, "n_ctx": 256, "n_batch": 256, "n_threads": 2,
  "kv_cache_type": "f16", "flash_attn": false,
  "hparams": {"arch", "n_vocab", "n_embd", "n_layer", "n_head", "n_head_kv", "n_swa"},
  "prompts": [{"name", "tokens": [ids], "rows": [9 x [n_vocab floats]], "greedy": [32 ids],
               "top2_gap": [32 floats: logit(top1) - logit(top2) of the row predicting greedy[k]],
               "check": {"batch_max_abs_diff_row8": float, "batch_argmax_match_row8": bool,
                         "flash_attn_max_abs_diff": float, "f32kv_max_abs_diff": float}}]
}
Floats are rounded to 7 significant digits.
"""
import argparse
import ctypes
import hashlib
import json
import math
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as QT
from gguf.quants import quantize as gguf_quantize

N_CTX = 256
N_THREADS = 2
N_GREEDY = 32
N_ROWS = 9
PROMPT_LENS = (1, 12, 40)
PROMPT_SEED = 4242

# ---------------------------------------------------------------------------------------------------
# Model specs. `types` maps a tensor role to a weight type; a list gives one type per layer.

SPECS = {
    # Llama 3.x: GQA, rope_freqs factors (converter formula, see make_model), base 500k, separate output.
    "tiny-llama3": dict(
        arch="llama", seed=101, n_vocab=320, n_embd=128, n_layer=2, n_head=4, n_head_kv=2, head_dim=32,
        n_ff=256, rope_base=500000.0, rms_eps=1e-5, llama3_rope=True, tied=False,
        types=dict(token_embd=QT.Q8_0, output=QT.Q5_0, q=[QT.Q8_0, QT.Q4_1], k=[QT.F16, QT.Q5_1],
                   v=[QT.Q8_0, QT.Q4_0], o=[QT.Q4_0, QT.Q8_0], gate=[QT.Q4_0, QT.IQ4_NL],
                   up=[QT.Q5_1, QT.Q4_0], down=[QT.Q4_K, QT.Q6_K])),
    # Qwen 3: q/k RMSNorm per head, key_length 32 with n_embd 64 (q_dim 128 != n_embd), tied output.
    "tiny-qwen3": dict(
        arch="qwen3", seed=202, n_vocab=320, n_embd=64, n_layer=3, n_head=4, n_head_kv=2, head_dim=32,
        n_ff=256, rope_base=1000000.0, rms_eps=1e-6, qk_norm=True, tied=True, key_length=True, layer_gain=6.0,
        types=dict(token_embd=QT.Q8_0, q=[QT.Q8_0, QT.Q4_0, QT.Q5_0], k=[QT.Q8_0, QT.BF16, QT.Q4_1],
                   v=[QT.Q4_0, QT.Q8_0, QT.Q5_1], o=[QT.Q5_0, QT.Q4_0, QT.Q8_0],
                   gate=[QT.Q8_0, QT.Q4_1, QT.Q4_0], up=[QT.Q4_0, QT.Q8_0, QT.IQ4_NL],
                   down=[QT.Q5_K, QT.Q4_K, QT.Q3_K])),
    # Phi 3: fused attn_qkv (q_dim = n_embd, GQA), ffn_up = [gate; up] (2 n_ff rows), no ffn_gate;
    # a sliding_window key that llama.cpp ignores for phi3 (and so must hearth).
    "tiny-phi3": dict(
        arch="phi3", seed=303, n_vocab=320, n_embd=128, n_layer=2, n_head=4, n_head_kv=2, head_dim=32,
        n_ff=256, rope_base=10000.0, rms_eps=1e-5, fused=True, tied=False, rope_dim_key=True, sliding_window=16,
        types=dict(token_embd=QT.Q4_0, output=QT.Q8_0, qkv=[QT.Q8_0, QT.Q4_0], o=[QT.Q4_1, QT.Q8_0],
                   up=[QT.Q4_0, QT.Q5_0], down=[QT.Q6_K, QT.Q2_K])),
    # Qwen 2: q/k/v biases (F32), NeoX RoPE, separate output.
    "tiny-qwen2": dict(
        arch="qwen2", seed=404, n_vocab=320, n_embd=128, n_layer=2, n_head=4, n_head_kv=2, head_dim=32,
        n_ff=256, rope_base=1000000.0, rms_eps=1e-6, qkv_bias=True, tied=False,
        types=dict(token_embd=QT.Q4_1, output=QT.Q4_0, q=[QT.Q4_0, QT.Q8_0], k=[QT.Q8_0, QT.Q4_0],
                   v=[QT.Q8_0, QT.F16], o=[QT.Q8_0, QT.Q5_1], gate=[QT.Q4_0, QT.Q8_0],
                   up=[QT.Q5_0, QT.Q4_0], down=[QT.Q4_K, QT.Q5_K])),
    # Gemma 3: 6 layers (5 local with sliding window 8, 1 global), post norms, q/k norms, GeGLU,
    # tied output, key_length 32 with n_embd 64, linear RoPE scaling x8 on the global layer.
    "tiny-gemma3": dict(
        arch="gemma3", seed=505, n_vocab=320, n_embd=64, n_layer=6, n_head=4, n_head_kv=2, head_dim=32,
        n_ff=128, rope_base=1000000.0, rms_eps=1e-6, qk_norm=True, post_norms=True, tied=True,
        key_length=True, sliding_window=8, rope_linear=8.0, layer_gain=10.0,
        types=dict(token_embd=QT.Q8_0, q=QT.Q4_0, k=[QT.Q8_0, QT.Q4_0] * 3, v=QT.Q4_0,
                   o=[QT.Q4_1, QT.Q4_0, QT.Q8_0, QT.Q4_0, QT.Q5_0, QT.Q4_0], gate=QT.Q4_0, up=QT.Q4_0,
                   down=[QT.Q8_0, QT.Q4_0, QT.Q5_1, QT.Q4_0, QT.Q8_0, QT.Q4_1])),
}

# ---------------------------------------------------------------------------------------------------
# Quantization.

_ggml = None


def ggml_lib():
    global _ggml
    if _ggml is None:
        import llama_cpp  # noqa: F401  (loads the bundled ggml libraries)
        libdir = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
        _ggml = ctypes.CDLL(os.path.join(libdir, "libggml-base.so"))
        _ggml.ggml_quantize_chunk.restype = ctypes.c_size_t
        _ggml.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                              ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
        _ggml.ggml_row_size.restype = ctypes.c_size_t
        _ggml.ggml_row_size.argtypes = [ctypes.c_int, ctypes.c_int64]
    return _ggml


GGUF_PY_TYPES = {QT.Q8_0, QT.Q4_0, QT.Q4_1, QT.Q5_0, QT.Q5_1, QT.F16, QT.BF16}


def quantize(x, qtype):
    """x: float32 (rows, cols). Returns the array to hand to GGUFWriter.add_tensor."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if qtype == QT.F32:
        return x
    if qtype in GGUF_PY_TYPES:
        return gguf_quantize(x, qtype)
    lib = ggml_lib()
    rows, cols = x.shape
    row_bytes = lib.ggml_row_size(int(qtype), cols)
    out = np.zeros((rows, row_bytes), dtype=np.uint8)
    n = lib.ggml_quantize_chunk(int(qtype), x.ctypes.data, out.ctypes.data, 0, rows, cols, None)
    assert n == out.nbytes, (qtype, n, out.nbytes)
    return out


# ---------------------------------------------------------------------------------------------------
# Model writer.

def llama3_rope_factors(dim, base, factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0, old_ctx=8192):
    """As convert_hf_to_gguf.py (LlamaModel.generate_extra_tensors) computes rope_freqs.weight."""
    freqs = 1.0 / (base ** (np.arange(0, dim, 2, dtype=np.float32) / dim))
    low_freq_wavelen = old_ctx / low_freq_factor
    high_freq_wavelen = old_ctx / high_freq_factor
    out = []
    for freq in freqs:
        wavelen = 2 * math.pi / freq
        if wavelen < high_freq_wavelen:
            out.append(1.0)
        elif wavelen > low_freq_wavelen:
            out.append(factor)
        else:
            smooth = (old_ctx / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
            out.append(1.0 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


# llama.cpp's vocab loader looks these up by text for phi3 (it fails with unordered_map::at without
# them); harmless for the other architectures.
PHI3_SPECIAL = ["<|endoftext|>", "<|assistant|>", "<|system|>", "<|end|>", "<|user|>"]


def tokenizer(w, n_vocab):
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{i:02X}>" for i in range(256)] + PHI3_SPECIAL
    n_special = len(tokens)
    tokens += [f"\u2581w{i}" for i in range(n_vocab - n_special)]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL] + \
        [gguf.TokenType.BYTE] * 256 + [gguf.TokenType.CONTROL] * len(PHI3_SPECIAL) + \
        [gguf.TokenType.NORMAL] * (n_vocab - n_special)
    scores = [0.0] * n_special + [-float(i) for i in range(n_vocab - n_special)]
    assert len(tokens) == n_vocab
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_unk_token_id(0)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_add_bos_token(False)
    w.add_add_eos_token(False)


def make_model(name, s, path):
    rng = np.random.default_rng(s["seed"])
    E, F, V, L = s["n_embd"], s["n_ff"], s["n_vocab"], s["n_layer"]
    H, HKV, D = s["n_head"], s["n_head_kv"], s["head_dim"]
    q_dim, kv_dim = H * D, HKV * D
    types = s["types"]

    def ty(role, il=None):
        t = types[role]
        return t[il] if isinstance(t, list) else t

    def mat(rows, cols, std):
        return (rng.standard_normal((rows, cols)) * std).astype(np.float32)

    def norm(n):
        return (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32)

    arch = s["arch"]
    w = gguf.GGUFWriter(path, arch)
    w.add_name(name)
    w.add_context_length(N_CTX)
    w.add_embedding_length(E)
    w.add_block_count(L)
    w.add_feed_forward_length(F)
    w.add_head_count(H)
    w.add_head_count_kv(HKV)
    w.add_layer_norm_rms_eps(s["rms_eps"])
    w.add_rope_freq_base(s["rope_base"])
    if s.get("key_length"):
        w.add_key_length(D)
        w.add_value_length(D)
    if s.get("rope_dim_key") or arch == "llama":
        w.add_rope_dimension_count(D)
    if s.get("sliding_window"):
        w.add_sliding_window(s["sliding_window"])
    if s.get("rope_linear"):
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(s["rope_linear"])
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
    tokenizer(w, V)

    tensors = []  # (name, array, type)

    def add(tname, arr, qtype=QT.F32):
        tensors.append((tname, quantize(arr, qtype) if arr.ndim == 2 else arr.astype(np.float32), qtype))

    tied = s.get("tied", False)
    # With a tied output the current token's own embedding dominates its logits unless the layers'
    # contributions to the residual stream outweigh it (else greedy repeats one token forever).
    gain = s.get("layer_gain", 1.0)
    # Embeddings: for a tied output they double as the output matrix, so the scale sets the logit
    # spread (rmsnorm output has unit rms: logit std ~ sqrt(E) * std * |norm|).
    emb_std = 2.5 / math.sqrt(E) if tied else 1.0
    add("token_embd.weight", mat(V, E, emb_std), ty("token_embd"))
    add("output_norm.weight", norm(E))
    if not tied:
        add("output.weight", mat(V, E, 2.5 / math.sqrt(E)), ty("output"))
    if s.get("llama3_rope"):
        # The converter's formula with Llama 3.1's factor 8, low/high_freq_factor 1/4, but an original
        # context of 256 instead of 8192: with 8192 only dims that barely turn within 80 positions are
        # rescaled (dropping the factors moves logits by ~0.1); with 256 they move by ~1.2.
        add("rope_freqs.weight", llama3_rope_factors(D, s["rope_base"], old_ctx=256))

    post = s.get("post_norms", False)  # Gemma: post norms set the size of the layers' outputs
    for il in range(L):
        p = f"blk.{il}."
        add(p + "attn_norm.weight", norm(E))
        # q, k: unit-variance entries (scores ~N(0, 1) * 1.5^2: attention neither uniform nor one-hot).
        wq, wk, wv = mat(q_dim, E, 1.5 / math.sqrt(E)), mat(kv_dim, E, 1.5 / math.sqrt(E)), mat(kv_dim, E, 1 / math.sqrt(E))
        if s.get("fused"):
            add(p + "attn_qkv.weight", np.concatenate([wq, wk, wv], axis=0), ty("qkv", il))
        else:
            add(p + "attn_q.weight", wq, ty("q", il))
            add(p + "attn_k.weight", wk, ty("k", il))
            add(p + "attn_v.weight", wv, ty("v", il))
        if s.get("qkv_bias"):
            add(p + "attn_q.bias", (0.5 * rng.standard_normal(q_dim)).astype(np.float32))
            add(p + "attn_k.bias", (0.5 * rng.standard_normal(kv_dim)).astype(np.float32))
            add(p + "attn_v.bias", (0.2 * rng.standard_normal(kv_dim)).astype(np.float32))
        if s.get("qk_norm"):
            add(p + "attn_q_norm.weight", norm(D))
            add(p + "attn_k_norm.weight", norm(D))
        add(p + "attn_output.weight", mat(E, q_dim, (1.0 if post else gain) * 0.7 / math.sqrt(q_dim)), ty("o", il))
        if s.get("post_norms"):
            add(p + "post_attention_norm.weight", (gain * norm(E)).astype(np.float32))
        add(p + "ffn_norm.weight", norm(E))
        wg, wu = mat(F, E, 1.0 / math.sqrt(E)), mat(F, E, 1.0 / math.sqrt(E))
        if s.get("fused"):
            add(p + "ffn_up.weight", np.concatenate([wg, wu], axis=0), ty("up", il))
        else:
            add(p + "ffn_gate.weight", wg, ty("gate", il))
            add(p + "ffn_up.weight", wu, ty("up", il))
        add(p + "ffn_down.weight", mat(E, F, (1.0 if post else gain) / math.sqrt(F)), ty("down", il))
        if s.get("post_norms"):
            add(p + "post_ffw_norm.weight", (gain * norm(E)).astype(np.float32))

    for tname, arr, qtype in tensors:
        if qtype in (QT.F32,) or arr.dtype == np.float32:
            w.add_tensor(tname, arr)
        elif qtype == QT.F16 and arr.dtype == np.float16:
            w.add_tensor(tname, arr)
        else:
            w.add_tensor(tname, arr, raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# ---------------------------------------------------------------------------------------------------
# Golden logits.

def r7(x):
    return float(f"{float(x):.7g}")


def top2_gap(row):
    i = int(np.argmax(row))
    rest = row.copy()
    rest[i] = -np.inf
    return float(row[i]) - float(rest.max())


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Runner:
    def __init__(self, path, flash_attn=False, kv_f32=False):
        import llama_cpp
        from llama_cpp import Llama
        self.lc = llama_cpp
        kv = dict(type_k=0, type_v=0) if kv_f32 else {}  # GGML_TYPE_F32
        self.llm = Llama(model_path=path, n_ctx=N_CTX, n_batch=N_CTX, n_ubatch=N_CTX, n_threads=N_THREADS,
                         n_threads_batch=N_THREADS, n_gpu_layers=0, flash_attn=flash_attn, logits_all=False,
                         verbose=False, **kv)
        self.ctx = self.llm._ctx.ctx
        self.model = self.llm._model.model
        self.n_vocab = self.llm.n_vocab()

    def clear(self):
        self.llm.reset()
        self.lc.llama_memory_clear(self.lc.llama_get_memory(self.ctx), True)

    def feed(self, tokens):
        self.llm.eval(list(tokens))
        p = self.lc.llama_get_logits_ith(self.ctx, -1)
        return np.ctypeslib.as_array(p, shape=(self.n_vocab,)).astype(np.float32).copy()

    def rows(self, tokens, greedy):
        """The N_ROWS rows of a prompt, teacher-forced with the given greedy tokens."""
        self.clear()
        out = [self.feed(tokens)]
        for t in greedy[:N_ROWS - 1]:
            out.append(self.feed([t]))
        return np.array(out)


def golden(name, path):
    rn = Runner(path)
    rn_fa = Runner(path, flash_attn=True)
    rn_f32 = Runner(path, kv_f32=True)
    lc, m = rn.lc, rn.model
    buf = (ctypes.c_char * 64)()
    lc.llama_model_meta_val_str(m, b"general.architecture", buf, 64)
    hp = {"arch": buf.value.decode(), "n_vocab": rn.n_vocab, "n_embd": int(lc.llama_model_n_embd(m)),
          "n_layer": int(lc.llama_model_n_layer(m)), "n_head": int(lc.llama_model_n_head(m)),
          "n_head_kv": int(lc.llama_model_n_head_kv(m)), "n_swa": int(lc.llama_model_n_swa(m))}
    rng = np.random.default_rng(PROMPT_SEED)
    out = {"format": "hearth-tiny-golden-1", "model": name, "model_file": os.path.basename(path),
           "model_sha256": sha256(path), "llama_cpp_python_version": lc.__version__, "n_ctx": N_CTX,
           "n_batch": N_CTX, "n_threads": N_THREADS, "kv_cache_type": "f16", "flash_attn": False,
           "hparams": hp, "prompts": []}
    for n in PROMPT_LENS:
        tokens = [int(t) for t in rng.integers(3, rn.n_vocab, size=n)]
        rn.clear()
        row = rn.feed(tokens)
        rows, greedy, gaps = [], [], []
        for k in range(N_GREEDY):
            t = int(np.argmax(row))
            greedy.append(t)
            gaps.append(r7(top2_gap(row)))
            if k < N_ROWS:
                rows.append([r7(v) for v in row])
                if k == N_ROWS - 1:
                    row8 = row
            if k < N_GREEDY - 1:
                row = rn.feed([t])
        rn.clear()
        chk = rn.feed(tokens + greedy[:N_ROWS - 1])
        ref = np.array(rows, dtype=np.float32)
        check = {"batch_max_abs_diff_row8": r7(np.abs(chk - row8).max()),
                 "batch_argmax_match_row8": int(np.argmax(chk)) == int(np.argmax(row8)),
                 "flash_attn_max_abs_diff": r7(np.abs(rn_fa.rows(tokens, greedy) - ref).max()),
                 "f32kv_max_abs_diff": r7(np.abs(rn_f32.rows(tokens, greedy) - ref).max())}
        spread = float(np.max(row8) - np.min(row8))
        print(f"  {name} prompt {n}: greedy {greedy[:12]}... distinct {len(set(greedy))}, row8 range "
              f"{spread:.2f}, min gap {min(gaps):.4f}, noise: batch {check['batch_max_abs_diff_row8']} flash "
              f"{check['flash_attn_max_abs_diff']} f32kv {check['f32kv_max_abs_diff']}", file=sys.stderr)
        out["prompts"].append({"name": f"len{n}", "tokens": tokens, "rows": rows, "greedy": greedy,
                               "top2_gap": gaps, "check": check})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data",
                                                  "tiny"))
    ap.add_argument("--only", nargs="*", default=None)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--models-only", action="store_true")
    g.add_argument("--golden-only", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name, spec in SPECS.items():
        if args.only and name not in args.only:
            continue
        path = os.path.join(args.out, f"{name}.gguf")
        if not args.golden_only:
            make_model(name, spec, path)
            size = os.path.getsize(path)
            print(f"{path}: {size} bytes", file=sys.stderr)
            assert size < 300 * 1024, (name, size)
        if not args.models_only:
            g = golden(name, path)
            dst = os.path.join(args.out, f"{name}.json")
            with open(dst, "w", encoding="utf-8") as f:
                json.dump(g, f, separators=(",", ":"))
                f.write("\n")
            print(f"  -> {dst} ({os.path.getsize(dst)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
