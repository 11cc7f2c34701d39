#!/usr/bin/env python3
"""End-to-end embeddings: the official `openai` and `ollama` Python clients against a real `hearth serve`, with
all-MiniLM-L6-v2 (BERT, the fixture from scripts/fetch-models) and the tiny Qwen3-Embedding-shaped model
(tests/data/embed, Matryoshka by its name): shapes, normalization, base64, token-id inputs, `dimensions`,
refused fields, truncation, usage counts, and agreement with `hearth embed`.

Usage: e2e_embeddings.py HEARTH_BINARY   (run by ctest as ServeClients.Embeddings; exits non-zero on any failure)
"""
import base64
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

import ollama
import openai

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from hearth_server import FAILURES, MODELS, check, Server  # noqa: E402

HEARTH = sys.argv[1]
MINILM = os.path.join(MODELS, "all-MiniLM-L6-v2.F16.gguf")
TINY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "embed", "tiny-qwen3-embed.gguf")


def norm(v):
    return math.sqrt(sum(x * x for x in v))


def cosine(a, b):
    return sum(x * y for x, y in zip(a, b)) / (norm(a) * norm(b))


def post(srv, path, body):
    req = urllib.request.Request(srv.base + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def cli_embed(*args):
    out = subprocess.run([HEARTH, "embed", "-t", "1", *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def run_openai(srv):
    c = openai.OpenAI(base_url=srv.base + "/v1", api_key="none", max_retries=0, timeout=120)
    texts = ["Hello world", "The quick brown fox jumps over the lazy dog.", "Paris is the capital of France."]
    one = c.embeddings.create(model=MINILM, input=texts[0])  # the client asks for base64 and decodes it
    v = one.data[0].embedding
    check(len(one.data) == 1 and len(v) == 384, f"openai: one string -> one vector of 384 ({len(v)})")
    check(abs(norm(v) - 1) < 1e-5, f"openai: normalized (|v| = {norm(v):.7f})")
    check(one.usage.prompt_tokens == 4 and one.usage.total_tokens == 4,
          f"openai: usage counts [CLS] hello world [SEP] = 4 ({one.usage})")
    many = c.embeddings.create(model=MINILM, input=texts, encoding_format="float")
    check([d.index for d in many.data] == [0, 1, 2], "openai: a list gives one vector per input, in order")
    check(max(abs(a - b) for a, b in zip(many.data[0].embedding, v)) < 1e-6,
          "openai: float and base64 encodings agree, and batching does not change a vector")
    check(cosine(many.data[2].embedding, many.data[1].embedding) < cosine(many.data[2].embedding,
                                                                            many.data[2].embedding),
          "openai: distinct texts give distinct vectors")
    status, raw = post(srv, "/v1/embeddings", {"model": MINILM, "input": "Hello world", "encoding_format": "base64"})
    decoded = struct.unpack("<384f", base64.b64decode(raw["data"][0]["embedding"]))
    check(status == 200 and max(abs(a - b) for a, b in zip(decoded, v)) < 1e-6,
          "openai: base64 is little-endian float32")
    ids = c.embeddings.create(model=MINILM, input=[101, 7592, 2088, 102], encoding_format="float")
    check(max(abs(a - b) for a, b in zip(ids.data[0].embedding, v)) < 1e-6,
          "openai: token ids give the same vector as their text")
    lists = c.embeddings.create(model=MINILM, input=[[101, 7592, 2088, 102], [101, 102]], encoding_format="float")
    check(len(lists.data) == 2 and lists.usage.prompt_tokens == 6, "openai: a list of token-id lists")
    cli = cli_embed("-m", MINILM, *texts)
    check(all(cosine(a, b.embedding) > 0.999999 for a, b in zip(cli["embeddings"], many.data)),
          "openai: agrees with `hearth embed`")

    try:
        c.embeddings.create(model=MINILM, input="x", dimensions=128)
        check(False, "openai: dimensions on a non-Matryoshka model is refused")
    except openai.BadRequestError as e:
        check(e.body.get("param") == "dimensions", f"openai: dimensions refused naming it ({e.body})")
    try:
        c.embeddings.create(model=MINILM, input="x", user="someone")
        check(False, "openai: the unsupported field user is refused")
    except openai.BadRequestError as e:
        check(e.body.get("param") == "user", f"openai: unknown field refused naming it ({e.body})")
    try:
        c.embeddings.create(model=MINILM, input="")
        check(False, "openai: an empty string is refused")
    except openai.BadRequestError as e:
        check(e.body.get("param") == "input", "openai: an empty string is refused naming input")
    full = c.embeddings.create(model=TINY, input="w1 w2 w3", encoding_format="float").data[0].embedding
    short = c.embeddings.create(model=TINY, input="w1 w2 w3", dimensions=16, encoding_format="float").data[0].embedding
    check(len(full) == 64 and len(short) == 16 and abs(norm(short) - 1) < 1e-5,
          "openai: dimensions on a Matryoshka model: a renormalized prefix")
    check(cosine(short, full[:16]) > 0.999999, "openai: dimensions keeps the first coordinates")
    try:
        c.chat.completions.create(model=MINILM, messages=[{"role": "user", "content": "hi"}])
        check(False, "openai: chat with an embedding-only model is refused")
    except openai.BadRequestError as e:
        check("embeddings only" in str(e), "openai: chat with an embedding-only model is a 400 saying why")


def run_ollama(srv):
    c = ollama.Client(host=srv.base, timeout=120)
    r = c.embed(model=MINILM, input=["Hello world", "The quick brown fox jumps over the lazy dog."])
    check(len(r.embeddings) == 2 and all(len(v) == 384 for v in r.embeddings), "ollama embed: two vectors of 384")
    check(all(abs(norm(v) - 1) < 1e-5 for v in r.embeddings), "ollama embed: normalized")
    check(r.prompt_eval_count == 4 + 12 and r.total_duration > 0, f"ollama embed: counts ({r.prompt_eval_count})")
    cli = cli_embed("-m", MINILM, "Hello world")
    check(cosine(cli["embeddings"][0], r.embeddings[0]) > 0.999999, "ollama embed: agrees with `hearth embed`")
    legacy = c.embeddings(model=MINILM, prompt="Hello world")
    check(len(legacy.embedding) == 384 and abs(norm(legacy.embedding) - 1) > 1e-3,
          f"ollama embeddings (legacy): one vector, not normalized (|v| = {norm(legacy.embedding):.4f})")
    check(cosine(legacy.embedding, r.embeddings[0]) > 0.999999, "ollama embeddings (legacy): same direction")
    long_text = "word " * 600
    r = c.embed(model=MINILM, input=long_text)
    check(r.prompt_eval_count == 512, f"ollama embed: truncated to the context by default ({r.prompt_eval_count})")
    try:
        c.embed(model=MINILM, input=long_text, truncate=False)
        check(False, "ollama embed: truncate false refuses a long input")
    except ollama.ResponseError as e:
        check(e.status_code == 400, f"ollama embed: truncate false -> 400 ({e})")
    status, body = post(srv, "/api/embed", {"model": MINILM, "input": "x", "stream": True})
    check(status == 400 and "stream" in body.get("error", ""), f"ollama embed: unknown field refused ({body})")


def main():
    for path in (MINILM, TINY):
        if not os.path.exists(path):
            print(f"FAIL: {path} is missing: run scripts/fetch-models")
            sys.exit(1)
    home = tempfile.mkdtemp(prefix="hearth-e2e-embed-")
    try:
        srv = Server(HEARTH, home, "-t", "1", "--allow-model-paths")
        try:
            run_openai(srv)
            run_ollama(srv)
        finally:
            rc = srv.stop()
            check(rc == 0, f"SIGTERM drains and exits 0 (got {rc})")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"{len(FAILURES)} failure(s)")
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()
