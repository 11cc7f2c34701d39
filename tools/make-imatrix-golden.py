#!/usr/bin/env python3
"""Golden importance matrices from the peer's own `llama-imatrix` (llama.cpp as vendored in the llama-cpp-python
0.3.36 sdist, built by scripts/setup-reference), for tests/quality/test_imatrix.cpp.

Usage: ~/.cache/hearth/venv/bin/python tools/make-imatrix-golden.py [--models DIR] [--fixtures DIR] [--bin DIR]

Method: `llama-imatrix -m MODEL -f TEXT -c 256 --chunks 4 -b 256 -t 2 -o OUT.gguf` per fixture model, TEXT the
fixture text make-ppl-golden.py uses. Recorded per model: the chunk count and size; per entry (weight) its token
count and the L2 norm of its per-column mean squares (in_sum2 / count); and the whole vector of mean squares for a
few entries (VECTORS). The test runs `hearth imatrix`'s collector on the same chunks and compares.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from golden_common import file_sha256, peer_tool  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
TEXT = "text/prose/vendor__llama.cpp__docs__build.md"
N_CTX, CHUNKS = 256, 4
MODELS = {
    "smollm2-135m": "SmolLM2-135M-Instruct.Q4_1.gguf",
    "gemma3-270m": "gemma-3-270m-q4_k_m.gguf",
    "qwen2.5-coder-0.5b": "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
}
VECTORS = ["blk.0.attn_q.weight", "blk.1.ffn_down.weight", "blk.5.attn_output.weight"]


def main():
    from gguf import GGUFReader
    home = pathlib.Path.home() / ".cache" / "hearth"
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=os.environ.get("HEARTH_MODELS", str(home / "models")))
    ap.add_argument("--fixtures", default=str(home / "fixtures" / "llama.cpp-0.3.36"))
    ap.add_argument("--bin", help="llama.cpp's bin dir (default: scripts/setup-reference --print-bin-dir)")
    ap.add_argument("--out", default=str(ROOT / "tests" / "data" / "imatrix" / "golden.json"))
    args = ap.parse_args()
    exe = peer_tool(args.bin, "llama-imatrix")
    text = pathlib.Path(args.fixtures) / TEXT
    out = {"format": "hearth-imatrix-golden-1", "text": TEXT, "n_ctx": N_CTX, "chunks": CHUNKS,
           "peer": "llama-imatrix, llama.cpp as vendored in llama-cpp-python 0.3.36", "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, file in MODELS.items():
            src = pathlib.Path(args.models) / file
            dst = f"{tmp}/{name}.imatrix.gguf"
            cmd = [str(exe), "-m", str(src), "-f", str(text), "-c", str(N_CTX), "--chunks", str(CHUNKS),
                   "-b", str(N_CTX), "-t", "2", "-o", dst]
            env = dict(os.environ, LD_LIBRARY_PATH=str(exe.parent))
            r = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if r.returncode != 0:
                sys.exit(f"llama-imatrix {file} failed:\n{(r.stdout + r.stderr)[-2000:]}")
            g = GGUFReader(dst)
            t = {x.name: np.array(x.data, dtype=np.float64).reshape(-1) for x in g.tensors}
            entries, vectors = {}, {}
            for tn in sorted(t):
                if not tn.endswith(".in_sum2"):
                    continue
                w = tn[: -len(".in_sum2")]
                count = float(t[w + ".counts"][0])
                mean_sq = t[tn] / count
                entries[w] = [count, float(np.linalg.norm(mean_sq))]
                if w in VECTORS:
                    vectors[w] = [float(f"{v:.7g}") for v in mean_sq]
            assert set(vectors) == set(VECTORS), sorted(vectors)
            out["models"][name] = {"file": file, "sha256": file_sha256(src),
                                   "chunk_count": int(g.fields["imatrix.chunk_count"].parts[-1][0]),
                                   "chunk_size": int(g.fields["imatrix.chunk_size"].parts[-1][0]),
                                   "entries": entries, "vectors": vectors}
            print(f"{name}: {len(entries)} entries")
    with open(args.out, "w") as f:
        json.dump(out, f, indent=0, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
