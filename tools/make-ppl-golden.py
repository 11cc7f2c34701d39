#!/usr/bin/env python3
"""Golden perplexities for `hearth perplexity`, made by the peer's own `llama-perplexity` (llama.cpp as vendored
in the llama-cpp-python 0.3.36 sdist, built by scripts/setup-reference) on every fixture model.

Usage: ~/.cache/hearth/venv/bin/python tools/make-ppl-golden.py [--models DIR] [--fixtures DIR] [--bin DIR]
           [--out tests/data/ppl/golden.json]     (numpy for the KL divergence part: the venv of setup-reference)

Method: `llama-perplexity -m MODEL -f TEXT -c 512 --chunks 8 -b 512 -t 2` (its defaults otherwise: F16 KV cache),
TEXT = the fixture text below (unpacked from the pinned sdist by scripts/fetch-fixtures, so every machine reads the
same bytes). Its per-chunk running PPL ("[1]x,[2]y,...") and "Final estimate: PPL = P +/- E" are recorded.
The test (tests/quality/test_perplexity.cpp) runs hearth's chunking on the same text and asks for |PPL - P| / P <=
0.5% on each model.

KL divergence (issue #16: hearth's next-token distributions must be closer to llama.cpp's than llama.cpp's batched
and one-token-at-a-time evaluations are to each other): `llama-perplexity -c 256 --chunks 6 --kl-divergence-base`
twice, batched (-b 256) and one token at a time (-b 1 -ub 1). The batched rows become tests/data/ppl/NAME.kld in
hearth's base format (top 24 log-probabilities + the next token's; llama.cpp's 16-bit values dequantized, the tokens
at its floor left out and each row renormalized, as hearth reads llama.cpp's files); llama.cpp's own KLD of the
one-token rows from the batched ones, by the same measure as hearth's (the top 24 + the rest as one outcome), is
`llama_self_kld`. The test runs hearth over the same tokens against NAME.kld and asks for a mean KLD <= it.
"""
import argparse
import json
import os
import pathlib
import re
import struct
import subprocess
import sys

from golden_common import file_sha256, peer_tool

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODELS = {  # short name -> file (tests/model_paths.h's fixture models)
    "smollm2-135m": "SmolLM2-135M-Instruct.Q4_1.gguf",
    "gemma3-270m": "gemma-3-270m-q4_k_m.gguf",
    "qwen2.5-coder-0.5b": "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
}
TEXT = "text/prose/vendor__llama.cpp__docs__build.md"
N_CTX, CHUNKS = 512, 8
KLD_CTX, KLD_CHUNKS, KLD_TOP_K = 256, 6, 24
REST_FLOOR = 1e-5  # quality/perplexity.cpp's kRestFloor



def read_llama_base(path):
    """llama.cpp's --kl-divergence-base file: (n_ctx, n_vocab, tokens, rows of renormalized log-probabilities)."""
    import numpy as np
    raw = pathlib.Path(path).read_bytes()
    if raw[:8] != b"_logits_":
        sys.exit(f"{path}: not llama.cpp's base file")
    n_ctx, n_vocab, n_chunk = np.frombuffer(raw, "<u4", 3, 8)
    n_tok = int(n_ctx) * int(n_chunk)
    tokens = np.frombuffer(raw, "<i4", n_tok, 20)
    nv = 2 * ((int(n_vocab) + 1) // 2) + 4
    rows = np.frombuffer(raw, "<u2", offset=20 + 4 * n_tok).reshape(-1, nv)
    scale = rows[:, 0:2].copy().view("<f4")[:, 0].astype(np.float32)
    lo = rows[:, 2:4].copy().view("<f4")[:, 0].astype(np.float32)
    q = rows[:, 4:4 + int(n_vocab)]
    lp = (scale[:, None] * q.astype(np.float32) + lo[:, None]).astype(np.float64)
    lp[q == 0] = -np.inf  # at or below the row's floor (16 nats under its top)
    mx = lp.max(axis=1, keepdims=True)
    shift = mx + np.log(np.exp(lp - mx).sum(axis=1, keepdims=True))
    lp -= shift
    floor = lo.astype(np.float64) - shift[:, 0]  # the floor's log-probability, renormalized like the rest
    return int(n_ctx), int(n_vocab), tokens, lp, floor


def next_tokens(tokens, n_ctx, n_rows):
    first = n_ctx // 2
    per = n_ctx - 1 - first
    return [int(tokens[(r // per) * n_ctx + first + r % per + 1]) for r in range(n_rows)]


def top_k(lp_row, k):
    import numpy as np
    order = np.lexsort((np.arange(lp_row.size), -lp_row))[:k]  # largest first, ties by smaller id
    return order[np.isfinite(lp_row[order])]


def write_hearth_base(path, n_ctx, n_vocab, tokens, lp, floor, k):
    import numpy as np
    n_chunk = len(tokens) // n_ctx
    first = n_ctx // 2
    out = bytearray(b"HRTHKLD1" + struct.pack("<5I", n_vocab, n_ctx, n_chunk, first, k))
    out += np.asarray(tokens, "<i4").tobytes()
    for r, nxt in enumerate(next_tokens(tokens, n_ctx, lp.shape[0])):
        ids = list(top_k(lp[r], k))
        vals = [float(lp[r, i]) for i in ids]
        pad = (i for i in range(n_vocab) if not np.isfinite(lp[r, i]))
        while len(ids) < k:  # a peaked row: fewer than k tokens above the floor; the rest at the floor
            ids.append(next(pad))
            vals.append(float(floor[r]))
        lp_next = lp[r, nxt] if np.isfinite(lp[r, nxt]) else floor[r]  # a token at the floor: the floor
        out += struct.pack("<f", lp_next)
        for i, v in zip(ids, vals):
            out += struct.pack("<if", int(i), v)
    pathlib.Path(path).write_bytes(bytes(out))


def bucket_kld(base_lp, q_lp, q_floor, k):
    """KL(base || q) over base's top k and the rest as one outcome (quality/perplexity.cpp's KldStats); a token
    at q's floor counts at the floor (its log-probability is at most that)."""
    import numpy as np
    vals = []
    for b, q, qf in zip(base_lp, q_lp, q_floor):
        q = np.where(np.isfinite(q), q, qf)
        ids = top_k(b, k)
        pb = np.exp(b[ids].astype(np.float32).astype(np.float64))  # stored as float32 in the base file
        kld = float((pb * (b[ids].astype(np.float32) - q[ids])).sum())
        rest_b, rest_q = 1 - pb.sum(), 1 - np.exp(q[ids]).sum()
        if rest_b > REST_FLOOR:
            kld += rest_b * (np.log(rest_b) - np.log(max(rest_q, 1e-300)))
        vals.append(max(kld, 0.0))
    return float(np.mean(vals)), float(np.std(vals, ddof=1) / np.sqrt(len(vals)))


def kld_golden(exe, model, text, name, out_dir):
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for mode, flags in (("batched", ["-b", str(KLD_CTX)]), ("one_token", ["-b", "1", "-ub", "1"])):
            files[mode] = f"{tmp}/{mode}.kld"
            cmd = [str(exe), "-m", str(model), "-f", str(text), "-c", str(KLD_CTX), "--chunks", str(KLD_CHUNKS),
                   "-t", "2", "--kl-divergence-base", files[mode]] + flags
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"{' '.join(cmd)} failed:\n{(r.stdout + r.stderr)[-2000:]}")
        n_ctx, n_vocab, tokens, lp_b, floor_b = read_llama_base(files["batched"])
        _, _, tokens1, lp_1, floor_1 = read_llama_base(files["one_token"])
        if list(tokens) != list(tokens1):
            sys.exit(f"{name}: the two llama.cpp runs tokenized differently")
        write_hearth_base(out_dir / f"{name}.kld", n_ctx, n_vocab, tokens, lp_b, floor_b, KLD_TOP_K)
        mean, se = bucket_kld(lp_b, lp_1, floor_1, KLD_TOP_K)
        return {"file": f"{name}.kld", "rows": int(lp_b.shape[0]), "llama_self_kld": mean, "llama_self_kld_se": se}


def main():
    home = pathlib.Path.home() / ".cache" / "hearth"
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=os.environ.get("HEARTH_MODELS", str(home / "models")))
    ap.add_argument("--fixtures", default=os.environ.get("HEARTH_FIXTURES", str(home / "fixtures" / "llama.cpp-0.3.36")))
    ap.add_argument("--bin", help="llama.cpp's bin dir (default: scripts/setup-reference --print-bin-dir)")
    ap.add_argument("--out", default=str(ROOT / "tests" / "data" / "ppl" / "golden.json"))
    args = ap.parse_args()
    exe = peer_tool(args.bin, "llama-perplexity")
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
        "kld": {"n_ctx": KLD_CTX, "chunks": KLD_CHUNKS, "top_k": KLD_TOP_K},
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
        out["models"][name]["kld"] = kld_golden(exe, model, text, name, pathlib.Path(args.out).parent)
        print(f"{name}: PPL {final.group(1)} +/- {final.group(2)}, llama.cpp one-token vs batched KLD "
              f"{out['models'][name]['kld']['llama_self_kld']:.6f}")
    pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
