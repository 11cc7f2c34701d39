#!/usr/bin/env python3
"""Golden outputs of ggml's quantizers with an importance matrix (what `llama-quantize --imatrix` runs), for
tests/kernels/test_quant_golden.cpp's QuantGolden.GgmlImatrixQuantizeIsBitExact.

The reference is ggml itself: `ggml_quantize_chunk(type, src, dst, 0, nrows, n_per_row, imatrix)` called through
ctypes in the peer build's libggml-base.so (llama.cpp as vendored in the llama-cpp-python 0.3.36 sdist, built by
scripts/setup-reference). Input: make-quant-golden.py's edge-case rows (512 per row), and a per-column importance
vector (log-normal, a few exact zeros). Also recorded without an importance matrix for IQ4_NL / IQ4_XS, whose
quantize_iq4_* (llama-quantize's path) searches more scales than their quantize_row_*_ref.

Output: tests/data/quant/ggml_imatrix.hqt (make-quant-golden.py's HQT1 format). Records:
    imatrix/in           F32 (16 rows of 512)
    imatrix/weights      F32 (1 row of 512): the importance of each column
    imatrix/<type>       ggml_quantize_chunk with the importance vector
    plain/<type>         ggml_quantize_chunk without one (IQ4 types)

Regenerate: ~/.cache/hearth/venv/bin/python tools/make-quant-imatrix-golden.py [--bin DIR]
"""
import argparse
import ctypes
import importlib.util
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from golden_common import peer_tool  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("mqg", ROOT / "tools" / "make-quant-golden.py")
mqg = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mqg)
T = mqg.T

WEIGHTED = [T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K, T.IQ4_NL, T.IQ4_XS]
PLAIN = [T.IQ4_NL, T.IQ4_XS]
N = 512


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", help="llama.cpp's bin dir (default: scripts/setup-reference --print-bin-dir)")
    ap.add_argument("--out", default=str(ROOT / "tests" / "data" / "quant" / "ggml_imatrix.hqt"))
    args = ap.parse_args()
    libdir = peer_tool(args.bin, "llama-quantize").parent
    lib = ctypes.CDLL(str(libdir / "libggml-base.so"))
    lib.ggml_quantize_chunk.restype = ctypes.c_size_t
    lib.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                        ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
    rng = np.random.default_rng(20261207)
    x = np.stack(mqg.edge_rows(rng, N)).astype(np.float32)
    w = rng.lognormal(0.0, 1.5, N).astype(np.float32)
    w[rng.random(N) < 0.03] = 0.0
    rec = mqg.Records()
    rec.add("imatrix/in", T.F32, N, x)
    rec.add("imatrix/weights", T.F32, N, w.reshape(1, N))

    def quantize(qt, weights):
        block, tsize = mqg.SIZES[qt]
        out = np.zeros(x.shape[0] * (N // block) * tsize, dtype=np.uint8)
        n = lib.ggml_quantize_chunk(int(qt), x.ctypes.data, out.ctypes.data, 0, x.shape[0], N,
                                    weights.ctypes.data if weights is not None else None)
        assert n == out.size, (qt, n, out.size)
        return out

    for qt in WEIGHTED:
        rec.add(f"imatrix/{mqg.NAMES[qt]}", qt, N, quantize(qt, w))
    for qt in PLAIN:
        rec.add(f"plain/{mqg.NAMES[qt]}", qt, N, quantize(qt, None))
    size = rec.write(args.out)
    assert size < 200_000, size
    print(f"{args.out}: {len(rec.items)} records, {size} bytes")


if __name__ == "__main__":
    main()
