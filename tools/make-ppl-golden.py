#!/usr/bin/env python3
"""Golden perplexities for `hearth perplexity`, made by the peer's own `llama-perplexity` (llama.cpp as vendored
in the llama-cpp-python 0.3.36 sdist, built by scripts/setup-reference) on every fixture model.

Usage: tools/make-ppl-golden.py [--models DIR] [--fixtures DIR] [--bin DIR] [--out tests/data/ppl/golden.json]

Method: `llama-perplexity -m MODEL -f TEXT -c 512 --chunks 8 -b 512 -t 2` (its defaults otherwise: F16 KV cache),
TEXT = the fixture text below (unpacked from the pinned sdist by scripts/fetch-fixtures, so every machine reads the
same bytes). Its per-chunk running PPL ("[1]x,[2]y,...") and "Final estimate: PPL = P +/- E" are recorded.
The test (tests/quality/test_perplexity.cpp) runs hearth's chunking on the same text and asks for |PPL - P| / P <=
0.5% on each model.
"""
import argparse
import json
import os
import pathlib
import re
import subprocess
import sys

from golden_common import file_sha256

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODELS = {  # short name -> file (tests/model_paths.h's fixture models)
    "smollm2-135m": "SmolLM2-135M-Instruct.Q4_1.gguf",
    "gemma3-270m": "gemma-3-270m-q4_k_m.gguf",
    "qwen2.5-coder-0.5b": "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
}
TEXT = "text/prose/vendor__llama.cpp__docs__build.md"
N_CTX, CHUNKS = 512, 8



def main():
    home = pathlib.Path.home() / ".cache" / "hearth"
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=os.environ.get("HEARTH_MODELS", str(home / "models")))
    ap.add_argument("--fixtures", default=os.environ.get("HEARTH_FIXTURES", str(home / "fixtures" / "llama.cpp-0.3.36")))
    ap.add_argument("--bin", help="llama.cpp's bin dir (default: scripts/setup-reference --print-bin-dir)")
    ap.add_argument("--out", default=str(ROOT / "tests" / "data" / "ppl" / "golden.json"))
    args = ap.parse_args()
    bindir = args.bin or subprocess.check_output([str(ROOT / "scripts" / "setup-reference"), "--print-bin-dir"],
                                                 text=True).strip()
    exe = pathlib.Path(bindir) / "llama-perplexity"
    if not exe.exists():
        sys.exit(f"{exe} missing: run scripts/setup-reference")
    text = pathlib.Path(args.fixtures) / TEXT
    if not text.exists():
        sys.exit(f"{text} missing: run scripts/fetch-fixtures")
    out = {
        "format": "hearth-ppl-golden-1",
        "peer": "llama-perplexity, llama.cpp as vendored in llama-cpp-python 0.3.36",
        "text": TEXT,
        "text_sha256": file_sha256(text),
        "n_ctx": N_CTX,
        "chunks": CHUNKS,
        "models": {},
    }
    for name, file in MODELS.items():
        model = pathlib.Path(args.models) / file
        cmd = [str(exe), "-m", str(model), "-f", str(text), "-c", str(N_CTX), "--chunks", str(CHUNKS), "-b",
               str(N_CTX), "-t", "2"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        log = r.stdout + r.stderr
        if r.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed:\n{log[-2000:]}")
        final = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", log)
        chunks = [float(v) for v in re.findall(r"\[\d+\]([0-9.]+),", log)]
        if not final or len(chunks) != CHUNKS:
            sys.exit(f"{name}: could not parse llama-perplexity's output:\n{log[-2000:]}")
        out["models"][name] = {
            "file": file,
            "sha256": file_sha256(model),
            "ppl": float(final.group(1)),
            "ppl_se": float(final.group(2)),
            "chunk_ppl": chunks,
        }
        print(f"{name}: PPL {final.group(1)} +/- {final.group(2)}")
    pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
