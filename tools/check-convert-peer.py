#!/usr/bin/env python3
"""`hearth convert`'s files in the peer llama.cpp build (not CI: CI has no llama.cpp).

Usage: tools/check-convert-peer.py [--hearth BIN] [--peer DIR] [--types F32,F16] [FIXTURE ...]

For each fixture of tools/make-hf-fixture.py (default: all) and type: converts it with `hearth convert`, then
  - logits: llama-perplexity runs the hearth-written GGUF on a text and saves its logits
    (--kl-divergence-base); `hearth perplexity --kl-divergence` runs the same file on the same tokens and reports
    the KL divergence of its next-token distributions from llama.cpp's, the same-top-token share and both PPLs
    (each from its own full logits);
  - tokens: llama-server's /tokenize on the fixture's strings against the `tokenizers` ids (expected.json).
Prints one line per file and a table in Markdown (for the README). Run with the pyclients venv's python (numpy,
safetensors, tokenizers). Exits 1 when llama.cpp fails to load a file or a tokenization differs.
"""
import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = ["llama", "llama2", "smollm", "qwen2", "qwen3", "gemma3", "phi3"]
TEXT = "/usr/share/common-licenses/GPL-3"  # Debian's base-files: English prose every machine here has


def run(cmd, both=False, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return r.stdout + r.stderr if both else r.stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peer_tokenize(peer, gguf, strings):
    """[(ids without specials, ids with specials)] from llama-server's /tokenize."""
    port = free_port()
    env = dict(os.environ, LD_LIBRARY_PATH=peer)
    srv = subprocess.Popen([os.path.join(peer, "llama-server"), "-m", gguf, "--port", str(port), "-c", "256",
                            "-t", "2", "--no-webui"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "/health", timeout=1)
                break
            except Exception:
                if srv.poll() is not None:
                    raise RuntimeError("llama-server exited: " + srv.stderr.read().decode()[-2000:])
                time.sleep(0.1)
        out = []
        for s in strings:
            ids = []
            for special in (False, True):
                req = urllib.request.Request(url + "/tokenize", data=json.dumps(
                    {"content": s, "add_special": special}).encode(), headers={"Content-Type": "application/json"})
                ids.append(json.load(urllib.request.urlopen(req, timeout=10))["tokens"])
            out.append(tuple(ids))
        return out
    finally:
        srv.terminate()
        srv.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hearth", default=os.path.join(ROOT, "build/release/hearth"))
    ap.add_argument("--peer", default=os.path.expanduser("~/.cache/hearth/ref/llama.cpp-0.3.36/build/bin"))
    ap.add_argument("--types", default="F32,F16")
    ap.add_argument("--ctx", type=int, default=64)
    ap.add_argument("--chunks", type=int, default=8)
    ap.add_argument("fixtures", nargs="*", default=FIXTURES)
    a = ap.parse_args()
    env = dict(os.environ, LD_LIBRARY_PATH=a.peer)
    work = tempfile.mkdtemp(prefix="hearth-convert-peer-")
    run([sys.executable, os.path.join(ROOT, "tools/make-hf-fixture.py"), work] + a.fixtures)
    rows, failed = [], False
    for name in a.fixtures:
        exp = json.load(open(os.path.join(work, name + ".expected.json")))
        for t in a.types.split(","):
            gguf = os.path.join(work, f"{name}-{t}.gguf")
            kld = gguf + ".kld"
            run([a.hearth, "convert", os.path.join(work, name), gguf, "--type", t])
            try:
                ppl_cmd = [os.path.join(a.peer, "llama-perplexity"), "-m", gguf, "-f", TEXT, "-c", str(a.ctx),
                           "--chunks", str(a.chunks), "-b", str(a.ctx), "-t", "2"]
                run(ppl_cmd + ["--kl-divergence-base", kld], env=env)
                peer_ppl = float("nan")
                for _ in range(10):  # llama.cpp's logger is a thread: under load its last lines can miss the exit
                    log = run(ppl_cmd, both=True, env=env)
                    # The running PPL after the last chunk is the final estimate.
                    last = re.search(r"\[%d\]([0-9.]+)" % a.chunks, log) or re.search(r"Final estimate: PPL = ([0-9.]+)", log)
                    if last:
                        peer_ppl = float(last.group(1))
                        break
            except RuntimeError as e:
                print(f"{name} {t}: llama.cpp could not run the file: {e}")
                failed = True
                continue
            s = json.loads(run([a.hearth, "perplexity", "-m", gguf, "--kl-divergence-base", kld, "--kl-divergence",
                                "-t", "2", "--json"]))
            s = s["kl_divergence"]
            toks = peer_tokenize(a.peer, gguf, [e["text"] for e in exp["encodings"]])
            same_tok = sum(p == (e["ids"], e["ids_special"]) for p, e in zip(toks, exp["encodings"]))
            if same_tok != len(toks):
                failed = True
                for p, e in zip(toks, exp["encodings"]):
                    if p != (e["ids"], e["ids_special"]):
                        print(f"  {name} {t}: llama.cpp tokenizes {e['text']!r} as {p}, tokenizers as "
                              f"{(e['ids'], e['ids_special'])}")
            # llama.cpp's own PPL from its full logits (the base file's log-probabilities are clamped, so a PPL
            # recomputed from them understates the very unlikely tokens these random models meet).
            row = (name, t, s["count"], peer_ppl, s["ppl"], s["kld"], s["kld_max"], 100 * s["same_top"],
                   f"{same_tok}/{len(toks)}")
            rows.append(row)
            print("%-7s %-4s tokens %4d  PPL llama.cpp %.4f hearth %.4f  KLD mean %.2e max %.2e  same top %.2f%%  "
                  "tokenization %s" % row)
    print("\n| fixture | type | scored tokens | PPL llama.cpp | PPL hearth | mean KLD | max KLD | same top | "
          "tokenization = tokenizers |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %s | %d | %.4f | %.4f | %.2e | %.2e | %.2f%% | %s |" % r)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
