"""A tiny random-weight nomic-bert GGUF with the real bert-bge vocabulary, written with the Python standard library
only (struct, random), so scripts/fetch-fixtures can make it on any machine: weights do not go into git.

nomic-embed-text's layout (RoPE, fused attn_qkv, SwiGLU, no biases in the blocks) at a tiny size: 2 layers, 32 wide,
4 heads, mean pooling. Deterministic: the same vocabulary file gives the same bytes (random.Random(seed)), so the
golden made from it by tools/make-embed-golden.py (through llama.cpp) records its sha256.

    make(vocab_path, dst)      # vocab_path: the sdist's models/ggml-vocab-bert-bge.gguf
"""
import os
import random
import struct

GGUF_MAGIC = b"GGUF"
ALIGN = 32
F32, F16, Q8_0 = 0, 1, 8
# GGUF value types and their fixed sizes (8: string, 9: array)
SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def _read_kv_spans(buf):
    """(key, raw bytes of the whole key/value entry) for every KV of a GGUF file, in order."""
    if buf[:4] != GGUF_MAGIC:
        raise ValueError("not a GGUF file")
    _version, _n_tensors, n_kv = struct.unpack_from("<IQQ", buf, 4)
    pos = 24

    def skip_value(p, t):
        if t == 8:
            (n,) = struct.unpack_from("<Q", buf, p)
            return p + 8 + n
        if t == 9:
            et, n = struct.unpack_from("<IQ", buf, p)
            p += 12
            for _ in range(n):
                p = skip_value(p, et)
            return p
        return p + SIZES[t]

    out = []
    for _ in range(n_kv):
        start = pos
        (klen,) = struct.unpack_from("<Q", buf, pos)
        key = buf[pos + 8:pos + 8 + klen].decode()
        pos += 8 + klen
        (t,) = struct.unpack_from("<I", buf, pos)
        pos = skip_value(pos + 4, t)
        out.append((key, buf[start:pos]))
    return out


def _s(text):
    b = text.encode()
    return struct.pack("<Q", len(b)) + b


def _kv(key, t, payload):
    return _s(key) + struct.pack("<I", t) + payload


def _q8_0(values):
    out = bytearray()
    for i in range(0, len(values), 32):
        block = values[i:i + 32]
        amax = max(abs(v) for v in block)
        d = amax / 127 if amax else 0.0
        d = struct.unpack("<e", struct.pack("<e", d))[0]  # as stored
        inv = 1 / d if d else 0.0
        out += struct.pack("<e", d)
        out += struct.pack("<32b", *[max(-127, min(127, round(v * inv))) for v in block])
    return bytes(out)


def make(vocab_path, dst, seed=1234):
    with open(vocab_path, "rb") as f:
        vocab = f.read()
    kvs = _read_kv_spans(vocab)
    tokens = dict(kvs)["tokenizer.ggml.tokens"]
    n_vocab = struct.unpack_from("<Q", tokens, 8 + len("tokenizer.ggml.tokens") + 4 + 4)[0]
    rng = random.Random(seed)
    n_embd, n_ff, n_layer, n_head = 32, 64, 2, 4

    def mat(rows, cols, scale):
        return [rng.gauss(0.0, 1.0) * scale for _ in range(rows * cols)]

    def norm(n):
        return [1 + 0.1 * rng.gauss(0.0, 1.0) for _ in range(n)]

    def bias(n):
        return [0.1 * rng.gauss(0.0, 1.0) for _ in range(n)]

    tensors = []  # (name, dims as GGUF writes them: columns first, type, bytes)

    def add(name, shape, kind, values):
        rows_cols = list(reversed(shape))
        if kind == F32:
            data = struct.pack(f"<{len(values)}f", *values)
        elif kind == F16:
            data = struct.pack(f"<{len(values)}e", *values)
        else:
            data = _q8_0(values)
        tensors.append((name, rows_cols, kind, data))

    add("token_embd.weight", (n_vocab, n_embd), Q8_0, mat(n_vocab, n_embd, 1.0))
    add("token_types.weight", (2, n_embd), F32, mat(2, n_embd, 0.5))
    add("token_embd_norm.weight", (n_embd,), F32, norm(n_embd))
    add("token_embd_norm.bias", (n_embd,), F32, bias(n_embd))
    for i in range(n_layer):
        p = f"blk.{i}."
        add(p + "attn_qkv.weight", (3 * n_embd, n_embd), F16, mat(3 * n_embd, n_embd, n_embd ** -0.5))
        add(p + "attn_output.weight", (n_embd, n_embd), F16, mat(n_embd, n_embd, n_embd ** -0.5))
        add(p + "attn_output_norm.weight", (n_embd,), F32, norm(n_embd))
        add(p + "attn_output_norm.bias", (n_embd,), F32, bias(n_embd))
        add(p + "ffn_up.weight", (n_ff, n_embd), F16, mat(n_ff, n_embd, n_embd ** -0.5))
        add(p + "ffn_gate.weight", (n_ff, n_embd), F16, mat(n_ff, n_embd, n_embd ** -0.5))
        add(p + "ffn_down.weight", (n_embd, n_ff), F16, mat(n_embd, n_ff, n_ff ** -0.5))
        add(p + "layer_output_norm.weight", (n_embd,), F32, norm(n_embd))
        add(p + "layer_output_norm.bias", (n_embd,), F32, bias(n_embd))

    arch = "nomic-bert"
    meta = [
        _kv("general.architecture", 8, _s(arch)),
        _kv("general.name", 8, _s("tiny-nomic-bert")),
        _kv(arch + ".context_length", 4, struct.pack("<I", 512)),
        _kv(arch + ".embedding_length", 4, struct.pack("<I", n_embd)),
        _kv(arch + ".feed_forward_length", 4, struct.pack("<I", n_ff)),
        _kv(arch + ".block_count", 4, struct.pack("<I", n_layer)),
        _kv(arch + ".attention.head_count", 4, struct.pack("<I", n_head)),
        _kv(arch + ".attention.layer_norm_epsilon", 6, struct.pack("<f", 1e-12)),
        _kv(arch + ".attention.causal", 7, struct.pack("<?", False)),
        _kv(arch + ".pooling_type", 4, struct.pack("<I", 1)),  # mean
        _kv(arch + ".rope.freq_base", 6, struct.pack("<f", 1000.0)),
    ]
    meta += [raw for key, raw in kvs if key.startswith("tokenizer.")]
    if "tokenizer.ggml.token_type_count" not in dict(kvs):
        meta.append(_kv(arch + ".token_type_count", 4, struct.pack("<I", 2)))

    header = bytearray(GGUF_MAGIC + struct.pack("<IQQ", 3, len(tensors), len(meta)))
    for m in meta:
        header += m
    offset = 0
    offsets = []
    for name, dims, kind, data in tensors:
        offsets.append(offset)
        header += _s(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims)
        header += struct.pack("<IQ", kind, offset)
        offset += (len(data) + ALIGN - 1) // ALIGN * ALIGN
    header += b"\0" * (-len(header) % ALIGN)
    tmp = dst + ".tmp"
    with open(tmp, "wb") as f:
        f.write(header)
        for (_, _, _, data) in tensors:
            f.write(data)
            f.write(b"\0" * (-len(data) % ALIGN))
    os.replace(tmp, dst)
