#!/usr/bin/env python3
"""Tiny randomly initialised Hugging Face model directories, with an independent reference, for `hearth convert`.

Usage: make-hf-fixture.py OUT_DIR [NAME ...]      (default: every fixture below)

Each OUT_DIR/NAME/ is laid out as `transformers` saves a model: config.json with the fields its config class
writes, generation_config.json, model.safetensors (or shards with model.safetensors.index.json) written by the
`safetensors` package, tokenizer.json built with the `tokenizers` package, tokenizer_config.json with a chat
template. Next to it, OUT_DIR/NAME.expected.json holds the reference:
  - "logits": the last position's logits for "tokens", from a numpy forward pass written here in Hugging Face's
    semantics (rotate-half RoPE, the architecture's norms, activations, biases, q/k norms, soft-cap, embedding
    scale, sliding windows) on the stored weights, in float64;
  - "encodings": what the `tokenizers` tokenizer makes of a few strings, with and without special tokens;
  - "chat_template", "arch", "metadata": the chat template and the GGUF keys llama.cpp's converter writes for
    this config (values from the config, as convert_hf_to_gguf.py reads them).
Fixtures:
  llama     LlamaForCausalLM, Llama 3 style: byte-level BPE (Llama 3 regex, ignore_merges), llama3 RoPE scaling,
            GQA, untied lm_head, F32
  llama2    LlamaForCausalLM, Llama 2 style: byte-fallback BPE (SentencePiece layout), F32
  smollm    LlamaForCausalLM, SmolLM style: byte-level BPE with GPT-2's regex and single digits, tied, F32
  qwen2     Qwen2ForCausalLM: byte-level BPE (Qwen 2 regex), q/k/v biases, tied embeddings, BF16, two shards,
            vocab_size past the tokenizer's tokens
  qwen3     Qwen3ForCausalLM: q/k norms, head_dim 32 != hidden/heads, F16
  gemma3    Gemma3ForCausalLM: byte-fallback BPE without a space prefix, (1 + w) norms, GeGLU, sliding window 4,
            final logit soft-cap, tied embeddings, F32
  phi3      Phi3ForCausalLM: fused qkv_proj and gate_up_proj, LongRoPE (Phi-3.5 style), byte-fallback BPE, F32
"""
import json
import math
import os
import sys

import numpy as np
import safetensors
import safetensors.numpy
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

TRANSFORMERS_VERSION = "4.51.3"
QWEN2_RE = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
LLAMA3_RE = QWEN2_RE.replace(r"\p{N}|", r"\p{N}{1,3}|")

CORPUS = """The quick brown fox jumps over the lazy dog. A stitch in time saves nine.
It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness.
Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse,
and nothing particular to interest me on shore, I thought I would sail about a little and see the watery part
of the world. It is a way I have of driving off the spleen and regulating the circulation.
All happy families are alike; each unhappy family is unhappy in its own way.
In the beginning the Universe was created. This has made a lot of people very angry and been widely regarded
as a bad move. There are 365 days in a year, 24 hours in a day and 60 minutes in an hour.
She said: "I can't believe it's already 3.14 o'clock!" and he replied, 'We'll see, won't we?'
Models read tokens; tokenizers turn text into tokens and back again. Hello world, hello there, hello again.
The weather today is sunny with a chance of rain in the evening; temperatures near 21 degrees.
""".splitlines()

STRINGS = [
    "Hello world",
    "In 2024, 365 days and 12345 digits.",
    "The quick brown fox jumps over the lazy dog.",
    "  leading spaces and 12345 digits\nnew line",
    "She said: I can't, it's 3.14!",
]

QWEN_TEMPLATE = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
                 "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
                 "{% endif %}")
LLAMA3_TEMPLATE = ("{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + "
                   "'<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}"
                   "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}")
LLAMA2_TEMPLATE = ("{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
                   "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% else %}{{ ' ' + message['content'] + "
                   "eos_token }}{% endif %}{% endfor %}")
GEMMA_TEMPLATE = ("{{ bos_token }}{% for message in messages %}{{ '<start_of_turn>' + (message['role'] == 'assistant' "
                  "and 'model' or message['role']) + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}"
                  "{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}")
PHI3_TEMPLATE = ("{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' }}"
                 "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}")


# ---------------------------------------------------------------------------------------------------- tokenizers

def byte_level_tokenizer(regex, specials, ignore_merges, bos=None):
    """A byte-level BPE as Qwen 2 / Llama 3 save it: Split(regex) + ByteLevel, specials appended after training;
    regex None: SmolLM's, single digits split off, then ByteLevel's own GPT-2 regex."""
    if regex is None:
        pre = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                       pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    else:
        split = pre_tokenizers.Split(Regex(regex), behavior="isolated", invert=False)
        pre = pre_tokenizers.Sequence([split, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    base = Tokenizer(models.BPE())
    base.pre_tokenizer = pre
    trainer = trainers.BpeTrainer(vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    base.train_from_iterator(CORPUS, trainer)
    model = json.loads(base.to_str())["model"]
    vocab = model["vocab"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, ignore_merges=ignore_merges))
    if regex == QWEN2_RE:
        tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    if bos is None:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    else:
        bos_id = tok.token_to_id(bos)
        tok.post_processor = processors.Sequence([
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(single=f"{bos}:0 $A:0", pair=f"{bos}:0 $A:0 {bos}:1 $B:1",
                                          special_tokens=[(bos, bos_id)])])
    return tok


def spm_merges(vocab):
    """transformers' SpmConverter merges: every split of a token into two tokens, by the token's score (-id)."""
    merges = []
    for piece, pid in sorted(vocab.items(), key=lambda kv: kv[1]):
        local = [(piece[:i], piece[i:], -pid) for i in range(1, len(piece))
                 if piece[:i] in vocab and piece[i:] in vocab]
        merges.extend(sorted(local, key=lambda m: (vocab[m[0]], vocab[m[1]])))
    merges = sorted(merges, key=lambda m: (m[2], len(m[0]), len(m[1])), reverse=True)
    return [(a, b) for a, b, _ in merges]


def byte_fallback_tokenizer(specials, prepend, added=(), bos="<s>"):
    """A SentencePiece BPE model as transformers saves it in tokenizer.json: byte_fallback, "▁" for spaces, the
    specials and <0xXX> byte tokens first, merges generated from the vocabulary (SpmConverter)."""
    base = Tokenizer(models.BPE())
    base.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first")
    trainer = trainers.BpeTrainer(vocab_size=300, show_progress=False)
    base.train_from_iterator(CORPUS, trainer)
    trained = sorted(json.loads(base.to_str())["model"]["vocab"].items(), key=lambda kv: kv[1])
    vocab = {}
    for s in specials:
        vocab[s] = len(vocab)
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for piece, _ in trained:
        if piece not in vocab:
            vocab[piece] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=spm_merges(vocab), unk_token=specials[-1] if "<unk>" not in
                               specials else "<unk>", byte_fallback=True, fuse_unk=True))
    norms = [normalizers.Replace(" ", "\u2581")]
    if prepend:
        norms.insert(0, normalizers.Prepend("\u2581"))
    tok.normalizer = normalizers.Sequence(norms)
    dec = [decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()]
    if prepend:
        dec.append(decoders.Strip(" ", 1, 0))
    tok.decoder = decoders.Sequence(dec)
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in added])
    tok.post_processor = processors.TemplateProcessing(single=f"{bos}:0 $A:0", pair=f"{bos}:0 $A:0 {bos}:1 $B:1",
                                                       special_tokens=[(bos, tok.token_to_id(bos))])
    return tok


def tokenizer_config(tok, template, **tokens):
    added = {}
    for tid, at in sorted(tok.get_added_tokens_decoder().items()):
        added[str(tid)] = {"content": at.content, "lstrip": at.lstrip, "normalized": at.normalized,
                           "rstrip": at.rstrip, "single_word": at.single_word, "special": at.special}
    cfg = {"added_tokens_decoder": added, "chat_template": template, "clean_up_tokenization_spaces": False,
           "extra_special_tokens": {}, "model_max_length": 2048, "tokenizer_class": "PreTrainedTokenizerFast"}
    cfg.update(tokens)
    return cfg


# ---------------------------------------------------------------------------------------------------- configs

def base_config(arch, model_type, vocab_size, **kw):
    c = {"architectures": [arch], "attention_dropout": 0.0, "hidden_act": "silu", "hidden_size": 64,
         "initializer_range": 0.02, "intermediate_size": 128, "max_position_embeddings": 2048,
         "model_type": model_type, "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 2,
         "rms_norm_eps": 1e-05, "rope_scaling": None, "rope_theta": 10000.0, "tie_word_embeddings": False,
         "torch_dtype": "float32", "transformers_version": TRANSFORMERS_VERSION, "use_cache": True,
         "vocab_size": vocab_size}
    c.update(kw)
    return dict(sorted(c.items()))


# ---------------------------------------------------------------------------------------------------- weights

def rounded(x, dtype):
    """x (float32) as the file will store it (float16 / bfloat16 rounding to nearest even), back in float32."""
    if dtype == "F16":
        return x.astype(np.float16).astype(np.float32)
    if dtype == "BF16":
        u = x.astype(np.float32).view(np.uint32).astype(np.uint64)
        u = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16
        return u.astype(np.uint32).view(np.float32)
    return x.astype(np.float32)


def make_weights(cfg, kind, rng, dtype):
    h, n_ff, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or h // nh
    w = {}

    def mat(rows, cols):
        return rng.standard_normal((rows, cols)).astype(np.float32) / math.sqrt(cols)

    def norm(n):  # Gemma stores w for (1 + w)
        return (0.2 * rng.standard_normal(n) + (0.0 if kind == "gemma3" else 1.0)).astype(np.float32)

    w["model.embed_tokens.weight"] = (0.5 * rng.standard_normal((V, h))).astype(np.float32)
    for il in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{il}."
        w[p + "input_layernorm.weight"] = norm(h)
        w[p + "post_attention_layernorm.weight"] = norm(h)
        w[p + "self_attn.o_proj.weight"] = mat(h, nh * hd)
        w[p + "mlp.down_proj.weight"] = mat(h, n_ff)
        if kind == "phi3":
            w[p + "self_attn.qkv_proj.weight"] = mat((nh + 2 * nkv) * hd, h)
            w[p + "mlp.gate_up_proj.weight"] = mat(2 * n_ff, h)
            continue
        w[p + "self_attn.q_proj.weight"] = mat(nh * hd, h)
        w[p + "self_attn.k_proj.weight"] = mat(nkv * hd, h)
        w[p + "self_attn.v_proj.weight"] = mat(nkv * hd, h)
        w[p + "mlp.gate_proj.weight"] = mat(n_ff, h)
        w[p + "mlp.up_proj.weight"] = mat(n_ff, h)
        if kind == "qwen2":
            for n, rows in (("q", nh * hd), ("k", nkv * hd), ("v", nkv * hd)):
                w[p + f"self_attn.{n}_proj.bias"] = (0.3 * rng.standard_normal(rows)).astype(np.float32)
        if kind in ("qwen3", "gemma3"):
            w[p + "self_attn.q_norm.weight"] = norm(hd)
            w[p + "self_attn.k_norm.weight"] = norm(hd)
        if kind == "gemma3":
            w[p + "pre_feedforward_layernorm.weight"] = norm(h)
            w[p + "post_feedforward_layernorm.weight"] = norm(h)
    w["model.norm.weight"] = norm(h)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = mat(V, h)
    return {k: rounded(v, dtype) for k, v in w.items()}


def save_weights(out, w, dtype, n_shards):
    st_dtype = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[dtype]

    def payload(v):
        if dtype == "BF16":
            return (v.view(np.uint32) >> 16).astype(np.uint16).tobytes()
        return v.astype(np.float16 if dtype == "F16" else np.float32).tobytes()

    names = sorted(w)
    if n_shards == 1:
        safetensors.serialize_file({n: {"dtype": st_dtype, "shape": list(w[n].shape), "data": payload(w[n])}
                                    for n in names}, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
        return
    weight_map, total = {}, 0
    for s in range(n_shards):
        fname = f"model-{s + 1:05d}-of-{n_shards:05d}.safetensors"
        part = names[s::n_shards]
        safetensors.serialize_file({n: {"dtype": st_dtype, "shape": list(w[n].shape), "data": payload(w[n])}
                                    for n in part}, os.path.join(out, fname), metadata={"format": "pt"})
        for n in part:
            weight_map[n] = fname
            total += w[n].size * (4 if dtype == "F32" else 2)
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)


# ---------------------------------------------------------------------------------------------------- reference

def rms_norm(x, w, eps, plus_one=False):
    x = x / np.sqrt((x * x).mean(-1, keepdims=True) + eps)
    return x * ((1.0 + w) if plus_one else w)


def inv_freq(cfg, base, dim):
    inv = 1.0 / (base ** (np.arange(0, dim, 2, dtype=np.float64) / dim))
    rs = cfg.get("rope_scaling") or {}
    if rs.get("rope_type") == "llama3":  # transformers' _compute_llama3_parameters
        factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        wavelen = 2 * math.pi / inv
        scaled = np.where(wavelen > old / lo, inv / factor, inv)
        smooth = (old / wavelen - lo) / (hi - lo)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < old / hi) & ~(wavelen > old / lo)
        inv = np.where(medium, smoothed, scaled)
    return inv


def rope(x, inv, attn=1.0):
    """x: (T, heads, d); rotate_half RoPE (pairs (i, i + d/2)) on the first 2 len(inv) dims; cos and sin scaled by
    attn (LongRoPE's attention factor)."""
    T, d_rot = x.shape[0], 2 * len(inv)
    f = np.outer(np.arange(T, dtype=np.float64), inv)
    emb = np.concatenate([f, f], -1)[:, None, :]
    xr, xp = x[..., :d_rot], x[..., d_rot:]
    rot = np.concatenate([-xr[..., d_rot // 2:], xr[..., :d_rot // 2]], -1)
    return np.concatenate([xr * np.cos(emb) * attn + rot * np.sin(emb) * attn, xp], -1)


def longrope(cfg, dim, T):
    """transformers' _compute_longrope_parameters: (inv_freq, attention factor) for a sequence of T tokens."""
    rs = cfg["rope_scaling"]
    orig = cfg["original_max_position_embeddings"]
    ext = np.array(rs["long_factor"] if T > orig else rs["short_factor"], dtype=np.float64)
    inv = 1.0 / (ext * cfg["rope_theta"] ** (np.arange(0, dim, 2, dtype=np.float64) / dim))
    factor = cfg["max_position_embeddings"] / orig
    return inv, (math.sqrt(1 + math.log(factor) / math.log(orig)) if factor > 1 else 1.0)


def attention(q, k, v, scale, window):
    """q (T, nh, d), k/v (T, nkv, d): causal, grouped-query, optional sliding window (i - j < window)."""
    T, nh, _ = q.shape
    group = nh // k.shape[1]
    out = np.zeros((T, nh, v.shape[2]))
    i, j = np.arange(T)[:, None], np.arange(T)[None, :]
    masked = (j > i) | ((i - j >= window) if window else False)
    for hh in range(nh):
        s = q[:, hh] @ k[:, hh // group].T * scale
        s = np.where(masked, -np.inf, s)
        p = np.exp(s - s.max(-1, keepdims=True))
        out[:, hh] = (p / p.sum(-1, keepdims=True)) @ v[:, hh // group]
    return out


def silu(x):
    return x / (1 + np.exp(-x))


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def forward(cfg, kind, w, tokens):
    """The last position's logits, as the transformers model computes them (float64)."""
    W = {k: v.astype(np.float64) for k, v in w.items()}
    h, nh, nkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or h // nh
    eps = cfg["rms_norm_eps"]
    gemma = kind == "gemma3"
    x = W["model.embed_tokens.weight"][tokens]
    if gemma:
        x = x * np.float64(np.float32(h ** 0.5))
    T = len(tokens)
    rot_dim = int(hd * cfg.get("partial_rotary_factor", 1.0))
    for il in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{il}."
        r = rms_norm(x, W[p + "input_layernorm.weight"], eps, gemma)
        if kind == "phi3":
            qkv = r @ W[p + "self_attn.qkv_proj.weight"].T
            q, k, v = np.split(qkv, [nh * hd, (nh + nkv) * hd], -1)
        else:
            q, k, v = (r @ W[p + f"self_attn.{n}_proj.weight"].T for n in "qkv")
            if kind == "qwen2":
                q, k, v = (t + W[p + f"self_attn.{n}_proj.bias"] for t, n in zip((q, k, v), "qkv"))
        q, k, v = q.reshape(T, nh, hd), k.reshape(T, nkv, hd), v.reshape(T, nkv, hd)
        if kind in ("qwen3", "gemma3"):
            q = rms_norm(q, W[p + "self_attn.q_norm.weight"], eps, gemma)
            k = rms_norm(k, W[p + "self_attn.k_norm.weight"], eps, gemma)
        sliding = gemma and (il + 1) % cfg["sliding_window_pattern"] != 0
        base = cfg["rope_local_base_freq"] if sliding else cfg["rope_theta"]
        inv, attn = inv_freq(cfg, base, rot_dim), 1.0
        if (cfg.get("rope_scaling") or {}).get("type") == "longrope":
            inv, attn = longrope(cfg, rot_dim, T)
        q, k = rope(q, inv, attn), rope(k, inv, attn)
        scale = cfg["query_pre_attn_scalar"] ** -0.5 if gemma else hd ** -0.5
        a = attention(q, k, v, scale, cfg["sliding_window"] if sliding else 0).reshape(T, nh * hd)
        a = a @ W[p + "self_attn.o_proj.weight"].T
        if gemma:
            a = rms_norm(a, W[p + "post_attention_layernorm.weight"], eps, True)
            x = x + a
            r = rms_norm(x, W[p + "pre_feedforward_layernorm.weight"], eps, True)
        else:
            x = x + a
            r = rms_norm(x, W[p + "post_attention_layernorm.weight"], eps)
        if kind == "phi3":
            gate, up = np.split(r @ W[p + "mlp.gate_up_proj.weight"].T, 2, -1)
        else:
            gate, up = r @ W[p + "mlp.gate_proj.weight"].T, r @ W[p + "mlp.up_proj.weight"].T
        m = ((gelu_tanh(gate) if gemma else silu(gate)) * up) @ W[p + "mlp.down_proj.weight"].T
        if gemma:
            m = rms_norm(m, W[p + "post_feedforward_layernorm.weight"], eps, True)
        x = x + m
    x = rms_norm(x[-1], W["model.norm.weight"], eps, gemma)
    out = W["lm_head.weight"] if "lm_head.weight" in W else W["model.embed_tokens.weight"]
    logits = out @ x
    if gemma and cfg.get("final_logit_softcapping"):
        cap = cfg["final_logit_softcapping"]
        logits = np.tanh(logits / cap) * cap
    return logits


# ---------------------------------------------------------------------------------------------------- fixtures

def fixture(name):
    """(kind, config, tokenizer, tokenizer_config, generation_config, dtype, n_shards)."""
    if name == "smollm":
        tok = byte_level_tokenizer(None, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], False)
        tid = tok.token_to_id
        cfg = base_config("LlamaForCausalLM", "llama", tok.get_vocab_size(with_added_tokens=True), attention_bias=False,
                          bos_token_id=tid("<|im_start|>"), eos_token_id=tid("<|im_end|>"), head_dim=16,
                          mlp_bias=False, pretraining_tp=1, rope_theta=100000.0, tie_word_embeddings=True)
        tc = tokenizer_config(tok, QWEN_TEMPLATE, bos_token="<|im_start|>", eos_token="<|im_end|>",
                              pad_token="<|im_end|>", unk_token="<|endoftext|>", add_prefix_space=False)
        return "llama", cfg, tok, tc, {"bos_token_id": cfg["bos_token_id"], "eos_token_id": cfg["eos_token_id"]}, \
            "F32", 1
    if name in ("llama", "qwen2", "qwen3"):
        if name == "llama":
            specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                        "<|eot_id|>"]
            tok = byte_level_tokenizer(LLAMA3_RE, specials, True, bos="<|begin_of_text|>")
        else:
            tok = byte_level_tokenizer(QWEN2_RE, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], False)
        n = tok.get_vocab_size(with_added_tokens=True)
        tid = tok.token_to_id
        if name == "llama":
            cfg = base_config("LlamaForCausalLM", "llama", n, attention_bias=False, bos_token_id=tid(specials[0]),
                              eos_token_id=tid("<|eot_id|>"), head_dim=16, mlp_bias=False, pretraining_tp=1,
                              rope_theta=500000.0, rope_scaling={"factor": 32.0, "high_freq_factor": 4.0,
                                                                 "low_freq_factor": 1.0, "rope_type": "llama3",
                                                                 "original_max_position_embeddings": 64})
            tc = tokenizer_config(tok, LLAMA3_TEMPLATE, bos_token="<|begin_of_text|>", eos_token="<|eot_id|>")
            gen = {"bos_token_id": cfg["bos_token_id"], "eos_token_id": [tid("<|end_of_text|>"), tid("<|eot_id|>")]}
            return "llama", cfg, tok, tc, gen, "F32", 1
        extra = dict(bos_token_id=tid("<|endoftext|>"), eos_token_id=tid("<|im_end|>"), max_window_layers=2,
                     sliding_window=None, use_sliding_window=False, tie_word_embeddings=True)
        tc = tokenizer_config(tok, QWEN_TEMPLATE, bos_token=None, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                              add_bos_token=False, add_prefix_space=False, errors="replace", split_special_tokens=False)
        gen = {"bos_token_id": extra["bos_token_id"], "eos_token_id": [tid("<|im_end|>"), tid("<|endoftext|>")]}
        if name == "qwen2":
            cfg = base_config("Qwen2ForCausalLM", "qwen2", n + 5, rope_theta=1000000.0, torch_dtype="bfloat16",
                              **extra)
            return "qwen2", cfg, tok, tc, gen, "BF16", 2
        cfg = base_config("Qwen3ForCausalLM", "qwen3", n, attention_bias=False, head_dim=32, rope_theta=1000000.0,
                          torch_dtype="float16", **extra)
        return "qwen3", cfg, tok, tc, gen, "F16", 1
    if name in ("llama2", "phi3"):
        added = ["<|endoftext|>", "<|assistant|>", "<|end|>", "<|user|>"] if name == "phi3" else []
        tok = byte_fallback_tokenizer(["<unk>", "<s>", "</s>"], True, added)
        n = tok.get_vocab_size(with_added_tokens=True)
        if name == "llama2":
            cfg = base_config("LlamaForCausalLM", "llama", n, attention_bias=False, bos_token_id=1, eos_token_id=2,
                              head_dim=16, mlp_bias=False, pretraining_tp=1)
            tc = tokenizer_config(tok, LLAMA2_TEMPLATE, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                  add_bos_token=True, add_eos_token=False, legacy=False, pad_token=None)
            return "llama", cfg, tok, tc, {"bos_token_id": 1, "eos_token_id": 2}, "F32", 1
        eot = tok.token_to_id("<|endoftext|>")
        hd = 16
        lr = np.random.default_rng(7)
        cfg = base_config("Phi3ForCausalLM", "phi3", n, attention_bias=False, bos_token_id=1, embd_pdrop=0.0,
                          eos_token_id=eot, max_position_embeddings=8192, original_max_position_embeddings=2048,
                          pad_token_id=eot, partial_rotary_factor=1.0, resid_pdrop=0.0, sliding_window=None,
                          rope_scaling={"long_factor": [round(float(v), 4) for v in 1 + 20 * lr.random(hd // 2)],
                                        "short_factor": [round(float(v), 4) for v in 1 + 3 * lr.random(hd // 2)],
                                        "type": "longrope"})
        tc = tokenizer_config(tok, PHI3_TEMPLATE, bos_token="<s>", eos_token="<|endoftext|>", unk_token="<unk>",
                              pad_token="<|endoftext|>", add_bos_token=True, add_eos_token=False, legacy=False)
        return "phi3", cfg, tok, tc, {"bos_token_id": 1, "eos_token_id": [eot, tok.token_to_id("<|end|>")]}, "F32", 1
    if name == "gemma3":
        tok = byte_fallback_tokenizer(["<pad>", "<eos>", "<bos>", "<unk>"], False, ["<start_of_turn>",
                                                                                     "<end_of_turn>"], bos="<bos>")
        n = tok.get_vocab_size(with_added_tokens=True)
        cfg = base_config("Gemma3ForCausalLM", "gemma3_text", n, attention_bias=False, attn_logit_softcapping=None,
                          bos_token_id=2, cache_implementation="hybrid", eos_token_id=[1, n - 1],
                          final_logit_softcapping=30.0, head_dim=32, hidden_activation="gelu_pytorch_tanh",
                          pad_token_id=0, query_pre_attn_scalar=32, rms_norm_eps=1e-06, rope_local_base_freq=10000.0,
                          rope_theta=1000000.0, sliding_window=4, sliding_window_pattern=6, tie_word_embeddings=True)
        del cfg["hidden_act"]
        tc = tokenizer_config(tok, GEMMA_TEMPLATE, bos_token="<bos>", eos_token="<eos>", unk_token="<unk>",
                              pad_token="<pad>", add_bos_token=True, add_eos_token=False,
                              spaces_between_special_tokens=False)
        return "gemma3", cfg, tok, tc, {"bos_token_id": 2, "eos_token_id": [1, n - 1], "pad_token_id": 0}, "F32", 1
    raise SystemExit(f"unknown fixture {name}")


def expected_metadata(kind, cfg):
    """The "<arch>.*" keys convert_hf_to_gguf.py writes for this config (its TextModel / model classes)."""
    a = {"llama": "llama", "qwen2": "qwen2", "qwen3": "qwen3", "gemma3": "gemma3", "phi3": "phi3"}[kind]
    hd = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    m = {f"{a}.block_count": cfg["num_hidden_layers"], f"{a}.context_length": cfg["max_position_embeddings"],
         f"{a}.embedding_length": cfg["hidden_size"], f"{a}.feed_forward_length": cfg["intermediate_size"],
         f"{a}.attention.head_count": cfg["num_attention_heads"],
         f"{a}.attention.head_count_kv": cfg["num_key_value_heads"], f"{a}.rope.freq_base": cfg["rope_theta"],
         f"{a}.attention.layer_norm_rms_epsilon": cfg["rms_norm_eps"]}
    if cfg.get("head_dim"):
        m[f"{a}.attention.key_length"] = m[f"{a}.attention.value_length"] = cfg["head_dim"]
    if kind == "llama":
        m[f"{a}.vocab_size"] = cfg["vocab_size"]
        m[f"{a}.rope.dimension_count"] = hd
    if kind == "gemma3":
        m[f"{a}.attention.sliding_window"] = cfg["sliding_window"]
        m[f"{a}.rope.freq_base_swa"] = cfg["rope_local_base_freq"]
        m[f"{a}.final_logit_softcapping"] = cfg["final_logit_softcapping"]
    if kind == "phi3":
        m[f"{a}.rope.scaling.original_context_length"] = cfg["original_max_position_embeddings"]
        m[f"{a}.rope.dimension_count"] = int(cfg["partial_rotary_factor"] * cfg["hidden_size"]) // \
            cfg["num_attention_heads"]
        m[f"{a}.attention.sliding_window"] = 0
        scale = cfg["max_position_embeddings"] / cfg["original_max_position_embeddings"]
        m[f"{a}.rope.scaling.attn_factor"] = math.sqrt(1 + math.log(scale) /
                                                       math.log(cfg["original_max_position_embeddings"]))
    return a, m


def make(out_root, name, seed):
    kind, cfg, tok, tc, gen, dtype, n_shards = fixture(name)
    out = os.path.join(out_root, name)
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        os.remove(os.path.join(out, f))
    rng = np.random.default_rng(seed)
    w = make_weights(cfg, kind, rng, dtype)
    save_weights(out, w, dtype, n_shards)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump(dict(gen, _from_model_config=True, transformers_version=TRANSFORMERS_VERSION), f, indent=2)
    tok.save(os.path.join(out, "tokenizer.json"))
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(tc, f, indent=2)

    tokens = tok.encode("The quick brown fox jumps over the lazy dog. Hello world", add_special_tokens=True).ids[:12]
    encodings = [{"text": s, "ids": tok.encode(s, add_special_tokens=False).ids,
                  "ids_special": tok.encode(s, add_special_tokens=True).ids} for s in STRINGS]
    arch, meta = expected_metadata(kind, cfg)
    expected = {"arch": arch, "dtype": dtype, "tokens": tokens, "logits": forward(cfg, kind, w, tokens).tolist(),
                "encodings": encodings, "chat_template": tc["chat_template"], "metadata": meta,
                "n_vocab": cfg["vocab_size"]}
    with open(os.path.join(out_root, name + ".expected.json"), "w") as f:
        json.dump(expected, f)


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    names = sys.argv[2:] or ["llama", "llama2", "smollm", "qwen2", "qwen3", "gemma3", "phi3"]
    for name in names:
        make(sys.argv[1], name, 1234 + sum(name.encode()))


if __name__ == "__main__":
    main()
