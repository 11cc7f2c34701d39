#!/usr/bin/env python3
"""Make the golden files that tests/kernels/test_quant_golden.cpp checks hearth's reference quant kernels against.

Two independent references, one file each under tests/data/quant/:

  gguf_py.hqt    the `gguf` PyPI package's numpy implementation (gguf.quants):
                   quantize: F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 of a fixed f32 input with edge cases;
                   dequantize: every type it knows (see DEQUANT_TYPES) of random but valid blocks.
  llama_cpp.hqt  llama.cpp itself, through llama-cpp-python:
                   model/...: a synthetic F32 `llama` GGUF quantized by llama_model_quantize (no imatrix,
                     params.pure) to one ftype after another; the output tensors are read back with
                     gguf.GGUFReader and kept only if they really became the target type;
                   ggml/...: ggml's own type traits called through ctypes: from_float_ref (the
                     quantize_row_*_ref functions) on the same input as gguf_py.hqt, and to_float on the
                     same random blocks, which also covers Q8_K that gguf.quants lacks.

File format "HQT1" (all integers little-endian, no padding):
    char     magic[4] = "HQT1"
    uint32   n_records
    n_records times:
        uint32   name_len
        char     name[name_len]        UTF-8, no terminator
        uint32   dtype                 GGUF ggml_type id (0 = F32, 2 = Q4_0, 12 = Q4_K, ...)
        uint64   n_per_row             elements per row
        uint64   n_rows
        uint64   n_bytes               = n_rows * row bytes of dtype
        uint8    data[n_bytes]
Record names (pairs are found by name):
    quant/in                 F32 input for the quantize checks
    quant/<type>             expected bytes of quant/in quantized by gguf.quants (gguf_py.hqt)
    ggml/quant/<type>        expected bytes of quant/in quantized by ggml from_float_ref (llama_cpp.hqt)
    dequant/<type>/in        random valid blocks of <type>
    dequant/<type>/out       F32: gguf.quants.dequantize (gguf_py.hqt) or ggml to_float (llama_cpp.hqt)
    model/in/<tensor>        F32 input tensor of the synthetic model
    model/<type>/<tensor>    that tensor as llama_model_quantize wrote it
<type> is the lower-case name hearth and llama.cpp print ("q4_K", "bf16", ...).

Regenerate (needs numpy, gguf 0.19 and llama-cpp-python in the venv):
    /root/.cache/hearth/venv/bin/python tools/make-quant-golden.py tests/data/quant
The data is deterministic (fixed seeds); the script checks that the files it writes stay small.
"""

from __future__ import annotations

import ctypes
import os
import struct
import sys
import tempfile

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

QK_K = 256

# (block size, bytes per block). gguf 0.19's table gives Q8_1 40 bytes (float d and s), but ggml's
# block_q8_1 has half d and s: 36 bytes, which is what from_float_ref writes (checked in ggml_quantize).
SIZES = dict(gguf.GGML_QUANT_SIZES)
SIZES[T.Q8_1] = (32, 36)

NAMES = {
    T.F32: "f32", T.F16: "f16", T.BF16: "bf16", T.Q4_0: "q4_0", T.Q4_1: "q4_1", T.Q5_0: "q5_0",
    T.Q5_1: "q5_1", T.Q8_0: "q8_0", T.Q8_1: "q8_1", T.Q2_K: "q2_K", T.Q3_K: "q3_K", T.Q4_K: "q4_K",
    T.Q5_K: "q5_K", T.Q6_K: "q6_K", T.Q8_K: "q8_K", T.IQ4_NL: "iq4_nl", T.IQ4_XS: "iq4_xs",
}

PY_QUANT_TYPES = [T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0]
GGML_QUANT_TYPES = [T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.Q8_1,
                    T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K, T.Q8_K]
DEQUANT_TYPES = [T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.Q2_K, T.Q3_K, T.Q4_K,
                 T.Q5_K, T.Q6_K, T.IQ4_NL, T.IQ4_XS]
GGML_DEQUANT_TYPES = DEQUANT_TYPES + [T.Q8_K]

# Byte offsets of the fp16 scale fields in each block (random bytes there could be inf/NaN).
F16_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0], T.Q2_K: [80, 82],
    T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208], T.IQ4_NL: [0], T.IQ4_XS: [0],
}

# llama_ftype -> the type llama_model_quantize gives every 2-D weight when params.pure is set.
LLAMA_FTYPES = [
    (2, T.Q4_0), (3, T.Q4_1), (8, T.Q5_0), (9, T.Q5_1), (7, T.Q8_0), (10, T.Q2_K),
    (11, T.Q3_K), (14, T.Q4_K), (16, T.Q5_K), (18, T.Q6_K),
]


def edge_rows(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """Rows of n floats covering the cases quantizers get wrong: zeros, constants, extremes, outliers."""
    g = lambda s=1.0: rng.standard_normal(n) * s
    rows = [
        np.zeros(n),                                   # all zeros
        np.full(n, 0.5),                               # positive constant
        np.full(n, -3.0),                              # negative constant
        g(),                                           # plain gaussian
        -np.abs(g()),                                  # negative only
        np.abs(g(0.1)),                                # positive only
        g(1e-6),                                       # tiny: fp16 scales become subnormal
        g(1e-9),                                       # tinier: fp16 scales flush to zero
        g(300.0),                                      # large (fp16-representable scales and mins)
        np.where(np.arange(n) % 97 == 17, 40.0, g(0.05)),  # one outlier per 97 elements
        np.round(g() * 4) / 4,                         # many exact ties on a 0.25 grid
        np.where(rng.random(n) < 0.8, 0.0, g()),       # sparse
        rng.laplace(size=n),                           # heavy tails
        rng.uniform(-1, 1, n),                         # uniform
        np.sin(np.arange(n) * 0.37) * 2.0,             # smooth
        np.concatenate([np.zeros(n // 2), g()[: n - n // 2]]),  # half-zero blocks
    ]
    return [r.astype(np.float32) for r in rows]


class Records:
    def __init__(self) -> None:
        self.items: list[tuple[str, int, int, int, bytes]] = []

    def add(self, name: str, qtype: T, n_per_row: int, data: np.ndarray) -> None:
        raw = np.ascontiguousarray(data).view(np.uint8).tobytes()
        block, tsize = SIZES[qtype]
        assert n_per_row % block == 0
        row_bytes = n_per_row // block * tsize
        assert len(raw) % row_bytes == 0, (name, len(raw), row_bytes)
        self.items.append((name, int(qtype), n_per_row, len(raw) // row_bytes, raw))

    def write(self, path: str) -> int:
        with open(path, "wb") as f:
            f.write(b"HQT1" + struct.pack("<I", len(self.items)))
            for name, qtype, n_per_row, n_rows, raw in self.items:
                nb = name.encode()
                f.write(struct.pack("<I", len(nb)) + nb)
                f.write(struct.pack("<IQQQ", qtype, n_per_row, n_rows, len(raw)))
                f.write(raw)
        return os.path.getsize(path)


def random_blocks(rng: np.random.Generator, qtype: T, n_elems: int) -> np.ndarray:
    """Random bytes for n_elems of qtype with finite, reasonably sized scales."""
    block, tsize = SIZES[qtype]
    nb = n_elems // block
    if qtype == T.F16:
        return (rng.standard_normal(n_elems) * 3).astype(np.float16).view(np.uint8)
    if qtype == T.BF16:
        bits = (rng.standard_normal(n_elems) * 3).astype(np.float32).view(np.uint32) >> 16
        return bits.astype(np.uint16).view(np.uint8)
    b = rng.integers(0, 256, size=(nb, tsize), dtype=np.uint8)
    scale = lambda k: (rng.uniform(-2, 2, k) * 10.0 ** rng.uniform(-5, 1, k)).astype(np.float32)
    if qtype == T.Q8_K:
        b[:, 0:4] = scale(nb).reshape(nb, 1).view(np.uint8)
    for off in F16_FIELDS.get(qtype, []):
        b[:, off:off + 2] = scale(nb).astype(np.float16).reshape(nb, 1).view(np.uint8)
    if nb > 1:
        b[0, :] = 0  # an all-zero block
    return b.reshape(-1)


def make_gguf_py(rng: np.random.Generator, quant_in: np.ndarray, blocks: dict) -> Records:
    rec = Records()
    n = quant_in.shape[1]
    rec.add("quant/in", T.F32, n, quant_in)
    for qt in PY_QUANT_TYPES:
        rec.add(f"quant/{NAMES[qt]}", qt, n, gguf.quants.quantize(quant_in, qt))
    for qt in DEQUANT_TYPES:
        raw = blocks[qt]
        out = gguf.quants.dequantize(raw, qt).astype(np.float32).reshape(-1)
        rec.add(f"dequant/{NAMES[qt]}/in", qt, out.size, raw)
        rec.add(f"dequant/{NAMES[qt]}/out", T.F32, out.size, out)
    return rec


class GgmlTraits(ctypes.Structure):
    _fields_ = [("type_name", ctypes.c_char_p), ("blck_size", ctypes.c_int64),
                ("blck_size_interleave", ctypes.c_int64), ("type_size", ctypes.c_size_t),
                ("is_quantized", ctypes.c_bool), ("to_float", ctypes.c_void_p),
                ("from_float_ref", ctypes.c_void_p)]


def load_ggml():
    import llama_cpp  # noqa: F401  (loads libggml-base.so next to it)
    libdir = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
    lib = ctypes.CDLL(os.path.join(libdir, "libggml-base.so"))
    lib.ggml_get_type_traits.restype = ctypes.POINTER(GgmlTraits)
    lib.ggml_get_type_traits.argtypes = [ctypes.c_int]
    return lib


ROW_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)


def ggml_quantize(lib, qt: T, x: np.ndarray) -> np.ndarray:
    # The traits' from_float_ref is quantize_row_<type>_ref, except Q8_K whose entry lives in ggml-cpu:
    # take the exported quantize_row_*_ref symbol then.
    fn = lib.ggml_get_type_traits(int(qt)).contents.from_float_ref
    if not fn:
        fn = ctypes.cast(getattr(lib, f"quantize_row_{NAMES[qt]}_ref"), ctypes.c_void_p).value
    block, tsize = SIZES[qt]
    assert lib.ggml_get_type_traits(int(qt)).contents.type_size == tsize, qt
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.zeros(x.size // block * tsize, dtype=np.uint8)
    ROW_FN(fn)(x.ctypes.data, out.ctypes.data, x.size)
    return out


def ggml_dequantize(lib, qt: T, raw: np.ndarray, n: int) -> np.ndarray:
    fn = lib.ggml_get_type_traits(int(qt)).contents.to_float
    if not fn:  # Q8_K: not in the base traits, but dequantize_row_q8_K is exported
        fn = ctypes.cast(getattr(lib, f"dequantize_row_{NAMES[qt]}"), ctypes.c_void_p).value
    raw = np.ascontiguousarray(raw)
    out = np.zeros(n, dtype=np.float32)
    ROW_FN(fn)(raw.ctypes.data, out.ctypes.data, n)
    return out


MODEL_TENSORS = ["token_embd.weight", "blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight",
                 "blk.0.attn_output.weight", "blk.0.ffn_gate.weight", "blk.0.ffn_up.weight",
                 "blk.0.ffn_down.weight", "output.weight"]
MODEL_COLS = 512  # ne[0]: two super-blocks per row
MODEL_ROWS = 4


def write_model(path: str, tensors: dict[str, np.ndarray]) -> None:
    w = gguf.GGUFWriter(path, "llama")
    w.add_context_length(64)
    w.add_embedding_length(MODEL_COLS)
    w.add_block_count(1)
    w.add_feed_forward_length(MODEL_COLS)
    w.add_head_count(2)
    w.add_head_count_kv(2)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(0)  # ALL_F32
    for name, t in tensors.items():
        w.add_tensor(name, t)
    for name in ["blk.0.attn_norm.weight", "blk.0.ffn_norm.weight", "output_norm.weight"]:
        w.add_tensor(name, np.ones(MODEL_COLS, np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def make_llama_cpp(rng: np.random.Generator, quant_in: np.ndarray, blocks: dict) -> Records:
    import llama_cpp

    rec = Records()
    n = quant_in.shape[1]
    lib = load_ggml()
    rec.add("quant/in", T.F32, n, quant_in)
    for qt in GGML_QUANT_TYPES:
        rec.add(f"ggml/quant/{NAMES[qt]}", qt, n, ggml_quantize(lib, qt, quant_in))
    for qt in GGML_DEQUANT_TYPES:
        raw = blocks[qt]
        n_el = raw.size // SIZES[qt][1] * SIZES[qt][0]
        rec.add(f"dequant/{NAMES[qt]}/in", qt, n_el, raw)
        rec.add(f"dequant/{NAMES[qt]}/out", T.F32, n_el, ggml_dequantize(lib, qt, raw, n_el))

    # Synthetic model: each tensor takes MODEL_ROWS rows from the edge cases (cycling), so every case
    # goes through llama_model_quantize at least once.
    cases = edge_rows(rng, MODEL_COLS) + [rng.standard_normal(MODEL_COLS).astype(np.float32) * s
                                           for s in (0.02, 1.0, 5.0)]
    cases = cases[:MODEL_ROWS * len(MODEL_TENSORS)]
    tensors = {}
    for i, name in enumerate(MODEL_TENSORS):
        rows = [cases[(i * MODEL_ROWS + r) % len(cases)] for r in range(MODEL_ROWS)]
        tensors[name] = np.stack(rows)
        rec.add(f"model/in/{name}", T.F32, MODEL_COLS, tensors[name])

    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "in.gguf")
        write_model(src, tensors)
        for ftype, qt in LLAMA_FTYPES:
            dst = os.path.join(tmp, f"out-{ftype}.gguf")
            p = llama_cpp.llama_model_quantize_default_params()
            p.ftype = ftype
            p.pure = True
            p.nthread = 1
            rc = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(p))
            if rc != 0:
                raise SystemExit(f"llama_model_quantize(ftype={ftype}) failed: {rc}")
            got = 0
            for t in gguf.GGUFReader(dst).tensors:
                if t.name not in tensors:
                    continue
                if t.tensor_type != qt:
                    print(f"note: {t.name} became {t.tensor_type.name}, not {qt.name}; skipped", file=sys.stderr)
                    continue
                rec.add(f"model/{NAMES[qt]}/{t.name}", qt, MODEL_COLS, np.array(t.data).reshape(-1))
                got += 1
            if got == 0:
                raise SystemExit(f"no tensor became {qt.name}")
    return rec


def main() -> None:
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "tests/data/quant"
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(20240611)
    quant_in = np.stack(edge_rows(rng, 256))  # (16, 256)
    blocks = {qt: random_blocks(rng, qt, 4 * QK_K) for qt in GGML_DEQUANT_TYPES}

    total = 0
    total += make_gguf_py(rng, quant_in, blocks).write(os.path.join(out_dir, "gguf_py.hqt"))
    total += make_llama_cpp(rng, quant_in, blocks).write(os.path.join(out_dir, "llama_cpp.hqt"))
    print(f"wrote {total} bytes to {out_dir}")
    assert total < 1_500_000, "golden files must stay small"


if __name__ == "__main__":
    main()
