#!/usr/bin/env python3
"""Golden outputs for `hearth quantize`, made by the peer's own `llama-quantize` (llama.cpp as vendored in the
llama-cpp-python 0.3.36 sdist, built by scripts/setup-reference) from the fixture models.

Usage: ~/.cache/hearth/venv/bin/python tools/make-quantize-golden.py [--models DIR] [--bin DIR]
           [--out tests/data/quantize/golden.json]     (the `gguf` package reads the outputs: the venv)

Method: `llama-quantize --allow-requantize SRC OUT TYPE 2` for each (model, type) below (no importance matrix;
the fixture models are themselves quantized, so they are requantized: dequantized as stored, then quantized).
Recorded per output: general.file_type and, per tensor, its type and the first 16 hex digits of the SHA-256 of
its bytes. The test
(tests/quantize/test_quantize.cpp) runs hearth's planner and quantizer on the same source and asks for the same
type and the same bytes for every tensor.

With an importance matrix ("outputs_imatrix"): `llama-quantize --imatrix FILE`, FILE an importance matrix in
llama-imatrix's GGUF format whose values follow a formula the test repeats (imatrix_value below: no file is kept),
for every 2-D weight of the blocks: in_sum2[j] = ((j * 7919 + len(name) * 31) % 61 + 1) / 4, counts = 4.
"""
import argparse
import hashlib
import json
import os
import pathlib
import subprocess
import sys
import tempfile

from golden_common import file_sha256, peer_tool

ROOT = pathlib.Path(__file__).resolve().parent.parent
CASES = {  # short name -> (file, types, types with the importance matrix)
    "smollm2-135m": ("SmolLM2-135M-Instruct.Q4_1.gguf",
                     ["Q8_0", "Q4_0", "Q5_1", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_K_S", "Q3_K_M", "Q3_K_L", "Q2_K", "F16",
                      "IQ4_XS"],
                     ["Q4_K_M", "Q4_0", "IQ4_NL"]),
    # Gemma 3 270M has 4 query heads per KV head: the IQ4 mixes' attn_v rule.
    "gemma3-270m": ("gemma-3-270m-q4_k_m.gguf", ["Q4_K_M", "Q8_0", "IQ4_XS"], ["Q5_K_M"]),
    "qwen2.5-coder-0.5b": ("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", ["Q4_K_M", "Q3_K_S"], []),
}


def imatrix_value(name, j):
    return ((j * 7919 + len(name) * 31) % 61 + 1) / 4


def write_formula_imatrix(src_reader, path):
    import gguf
    import numpy as np
    w = gguf.GGUFWriter(path, arch="unused")
    w.add_string("general.type", "imatrix")
    w.add_array("imatrix.datasets", ["formula"])
    w.add_uint32("imatrix.chunk_count", 1)
    w.add_uint32("imatrix.chunk_size", 512)
    for t in sorted(src_reader.tensors, key=lambda t: t.name):
        if not t.name.startswith("blk.") or len(t.shape) < 2 or t.shape[1] < 2:
            continue
        ne0 = int(t.shape[0])
        sums = np.array([imatrix_value(t.name, j) * 4 for j in range(ne0)], dtype=np.float32)
        w.add_tensor(t.name + ".in_sum2", sums.reshape(1, ne0))
        w.add_tensor(t.name + ".counts", np.array([[4.0]], dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    from gguf import GGUFReader
    home = pathlib.Path.home() / ".cache" / "hearth"
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=os.environ.get("HEARTH_MODELS", str(home / "models")))
    ap.add_argument("--bin", help="llama.cpp's bin dir (default: scripts/setup-reference --print-bin-dir)")
    ap.add_argument("--out", default=str(ROOT / "tests" / "data" / "quantize" / "golden.json"))
    args = ap.parse_args()
    exe = peer_tool(args.bin, "llama-quantize")
    out = {"format": "hearth-quantize-golden-1",
           "peer": "llama-quantize, llama.cpp as vendored in llama-cpp-python 0.3.36", "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (file, types, imatrix_types) in CASES.items():
            src = pathlib.Path(args.models) / file
            entry = {"file": file, "sha256": file_sha256(src), "outputs": {}, "outputs_imatrix": {}}
            imatrix = f"{tmp}/{name}.imatrix.gguf"
            write_formula_imatrix(GGUFReader(src), imatrix)
            for t, with_imatrix in [(t, False) for t in types] + [(t, True) for t in imatrix_types]:
                dst = f"{tmp}/{name}.{t}.gguf"
                extra = ["--imatrix", imatrix] if with_imatrix else []
                r = subprocess.run([str(exe), "--allow-requantize"] + extra + [str(src), dst, t, "2"],
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    sys.exit(f"llama-quantize {file} {t} failed:\n{(r.stdout + r.stderr)[-2000:]}")
                g = GGUFReader(dst)
                ftype = int(g.fields["general.file_type"].parts[-1][0])
                tensors = {tn.name: [tn.tensor_type.name, hashlib.sha256(tn.data.tobytes()).hexdigest()[:16]]
                           for tn in g.tensors}
                entry["outputs_imatrix" if with_imatrix else "outputs"][t] = {
                    "file_type": ftype, "bytes": os.path.getsize(dst), "tensors": tensors}
                print(f"{name} {t}{' (imatrix)' if with_imatrix else ''}: {len(tensors)} tensors, "
                      f"{os.path.getsize(dst) / 2**20:.1f} MiB")
                os.remove(dst)
            out["models"][name] = entry
    pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=0, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
