#!/usr/bin/env python3
"""`hearth quantize`'s files in the peer llama.cpp build (not CI: CI has no llama.cpp).

Usage: ~/.cache/hearth/venv/bin/python tools/check-quantize-peer.py [--hearth BIN] [--bin DIR] [--types T ...]
           [--imatrix-types T ...] [--chunks 8]

For each fixture model and type: `hearth quantize --allow-requantize MODEL OUT TYPE` (with `--imatrix` from
`hearth imatrix` on a calibration text for --imatrix-types), then
  - llama.cpp loads it and computes its logits over a text: `llama-perplexity -m OUT -f TEXT -c 512 --chunks N
    --kl-divergence-base L.kld` (its next-token distributions, saved) and its PPL;
  - hearth runs the same file on the same tokens: `hearth perplexity -m OUT --kl-divergence-base L.kld
    --kl-divergence` gives the KL divergence of hearth's distributions from llama.cpp's and the same-top share.
The figure to compare: llama.cpp's own one-token-vs-batched KLD on these models is 0.001-0.006
(tests/data/ppl/golden.json): an engine difference of that size is rounding, a wrong tensor is orders above.
Text: Debian's /usr/share/common-licenses/GPL-3; calibration: the llama.cpp fixture prose (text/prose/*.md).
Exits 1 when llama.cpp cannot load a file or a KLD exceeds 0.02.
"""
import argparse
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from golden_common import peer_tool  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
HOME = pathlib.Path.home() / ".cache" / "hearth"
MODELS = ["SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-q4_k_m.gguf", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"]
TEXT = "/usr/share/common-licenses/GPL-3"


def run(cmd, env=None):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{(r.stdout + r.stderr)[-2000:]}")
    return r.stdout + r.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hearth", default=str(ROOT / "build" / "release" / "hearth"))
    ap.add_argument("--bin", help="llama.cpp's bin dir (default: scripts/setup-reference --print-bin-dir)")
    ap.add_argument("--models", default=os.environ.get("HEARTH_MODELS", str(HOME / "models")))
    ap.add_argument("--types", nargs="*", default=["Q8_0", "Q6_K", "Q4_K_M", "IQ4_XS", "IQ4_NL", "Q3_K_M"])
    ap.add_argument("--imatrix-types", nargs="*", default=["Q4_K_M", "IQ4_XS", "Q4_0"])
    ap.add_argument("--chunks", type=int, default=8)
    a = ap.parse_args()
    ppl_exe = peer_tool(a.bin, "llama-perplexity")
    env = dict(os.environ, LD_LIBRARY_PATH=str(ppl_exe.parent))
    calib_dir = HOME / "fixtures" / "llama.cpp-0.3.36" / "text" / "prose"
    rows, failed = [], False
    with tempfile.TemporaryDirectory() as tmp:
        calib = pathlib.Path(tmp, "calibration.txt")
        calib.write_text("\n\n".join(p.read_text() for p in sorted(calib_dir.glob("*.md"))))
        for model in MODELS:
            src = pathlib.Path(a.models) / model
            imatrix = pathlib.Path(tmp, "imatrix.gguf")
            if a.imatrix_types:
                run([a.hearth, "imatrix", "-m", src, "-f", calib, "-o", imatrix, "-c", 512, "--chunks", 16,
                     "--no-ppl"])
            for t, im in [(t, False) for t in a.types] + [(t, True) for t in a.imatrix_types]:
                out = pathlib.Path(tmp, f"{t}.gguf")
                kld = pathlib.Path(tmp, f"{t}.kld")
                run([a.hearth, "quantize", "--allow-requantize", *(["--imatrix", imatrix] if im else []), src, out, t])
                label = f"{model} {t}{' + imatrix' if im else ''}"
                try:
                    log = run([ppl_exe, "-m", out, "-f", TEXT, "-c", 512, "--chunks", a.chunks, "-b", 512, "-t", 2,
                               "--kl-divergence-base", kld], env=env)
                except RuntimeError as e:
                    print(f"{label}: llama.cpp could not run the file: {e}")
                    failed = True
                    continue
                peer_ppl = float(re.search(r"Final estimate: PPL = ([0-9.]+)", log).group(1))
                s = json.loads(run([a.hearth, "perplexity", "-m", out, "--kl-divergence-base", kld, "--kl-divergence",
                                    "-t", 2, "--json"]))["kl_divergence"]
                row = (model, t + (" + imatrix" if im else ""), s["count"], peer_ppl, s["ppl"], s["kld"], s["kld_se"],
                       100 * s["same_top"])
                rows.append(row)
                failed |= s["kld"] > 0.02
                print("%s %s: %d tokens, PPL llama.cpp %.4f hearth %.4f, KLD %.6f ± %.6f, same top %.2f%%" % row,
                      flush=True)
                out.unlink()
                kld.unlink()
    print("\n| model | type | scored tokens | PPL llama.cpp | PPL hearth | KLD hearth vs llama.cpp | same top |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print("| %s | %s | %d | %.4f | %.4f | %.6f ± %.6f | %.2f%% |" % r)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
