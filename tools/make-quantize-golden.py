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
CASES = {  # short name -> (file, types)
    "smollm2-135m": ("SmolLM2-135M-Instruct.Q4_1.gguf",
                     ["Q8_0", "Q4_0", "Q5_1", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_K_S", "Q3_K_M", "Q3_K_L", "Q2_K", "F16"]),
    "gemma3-270m": ("gemma-3-270m-q4_k_m.gguf", ["Q4_K_M", "Q8_0"]),
    "qwen2.5-coder-0.5b": ("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", ["Q4_K_M", "Q3_K_S"]),
}


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
        for name, (file, types) in CASES.items():
            src = pathlib.Path(args.models) / file
            entry = {"file": file, "sha256": file_sha256(src), "outputs": {}}
            for t in types:
                dst = f"{tmp}/{name}.{t}.gguf"
                r = subprocess.run([str(exe), "--allow-requantize", str(src), dst, t, "2"], capture_output=True,
                                   text=True)
                if r.returncode != 0:
                    sys.exit(f"llama-quantize {file} {t} failed:\n{(r.stdout + r.stderr)[-2000:]}")
                g = GGUFReader(dst)
                ftype = int(g.fields["general.file_type"].parts[-1][0])
                tensors = {tn.name: [tn.tensor_type.name, hashlib.sha256(tn.data.tobytes()).hexdigest()[:16]]
                           for tn in g.tensors}
                entry["outputs"][t] = {"file_type": ftype, "bytes": os.path.getsize(dst), "tensors": tensors}
                print(f"{name} {t}: {len(tensors)} tensors, {os.path.getsize(dst) / 2**20:.1f} MiB")
                os.remove(dst)
            out["models"][name] = entry
    pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=0, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
