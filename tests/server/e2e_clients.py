#!/usr/bin/env python3
"""End-to-end: the official `openai` and `ollama` Python clients (pinned in scripts/setup) drive a real
`hearth serve` on 127.0.0.1 with the SmolLM2 fixture model, streaming and not, plus determinism under
concurrency and a burst of clients that disconnect mid-stream.

Usage: e2e_clients.py HEARTH_BINARY   (run by ctest as ServeClients.*; exits non-zero on any failure)
"""
import concurrent.futures as cf
import hashlib
import http.server
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import ollama
import openai

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from hearth_server import FAILURES, MODELS, check, Server as HearthServer  # noqa: E402

HEARTH = sys.argv[1]
KEY = "test-key-123"
SMOL_GGUF = os.path.join(MODELS, "SmolLM2-135M-Instruct.Q4_1.gguf")



TINY_GGUF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "tiny", "tiny-llama3.gguf")


def Server(home, *args, env=None):
    return HearthServer(HEARTH, home, *args, env=env)


class FakeHub:
    """A Hugging Face-like hub on 127.0.0.1 (the tree listing and resolve/main/<file>) serving one small real
    GGUF in slow chunks, so /api/pull has a download to report progress on."""

    def __init__(self):
        with open(TINY_GGUF, "rb") as f:
            data = f.read()
        listing = json.dumps([{"type": "file", "path": "tiny-Q4_K_M.gguf", "size": len(data),
                               "lfs": {"oid": hashlib.sha256(data).hexdigest(), "size": len(data)}}]).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                if self.path == "/api/models/org/tiny/tree/main":
                    body, chunk, pause = listing, len(listing), 0
                elif self.path == "/org/tiny/resolve/main/tiny-Q4_K_M.gguf":
                    body, chunk, pause = data, 32 * 1024, 0.02
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                for i in range(0, len(body), chunk):
                    self.wfile.write(body[i:i + chunk])
                    self.wfile.flush()
                    time.sleep(pause)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self):
        self.httpd.shutdown()


def health(base):
    with urllib.request.urlopen(base + "/health", timeout=5) as r:
        return r.status == 200


def main():
    home = tempfile.mkdtemp(prefix="hearth-e2e-")
    try:
        # Import the default model into this store (as `hearth run` does on first use).
        subprocess.run([HEARTH, "run", "smollm2", "-n", "1", "hi"], env={**os.environ, "HEARTH_HOME": home},
                       check=True, capture_output=True)
        # One compute thread: the suite runs beside other tests (and under ASan in CI) on small machines.
        hub = FakeHub()
        srv = Server(home, "--api-key", KEY, "--parallel", "4", "--max-queue", "64", "-t", "1",
                     env={"HF_ENDPOINT": hub.base})
        try:
            run_openai(srv)
            run_ollama(srv)
            run_ollama_management(srv)
            run_concurrency(srv)
            run_ps_and_stop(srv)
        finally:
            rc = srv.stop()
            hub.stop()
            check(rc == 0, f"SIGTERM drains and exits 0 (got {rc})")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"{len(FAILURES)} failure(s)")
    sys.exit(1 if FAILURES else 0)


def run_ps_and_stop(srv):
    """`hearth ps` and `hearth stop` against this server (HEARTH_HOST, HEARTH_API_KEY), as `ollama ps/stop`."""
    env = {**os.environ, "HEARTH_HOST": srv.base, "HEARTH_API_KEY": KEY}

    def hearth(*args, **kw):
        return subprocess.run([HEARTH, *args], capture_output=True, text=True, timeout=60, env={**env, **kw})

    ollama.Client(host=srv.base, headers={"Authorization": f"Bearer {KEY}"}).generate(
        model="smollm2", prompt="hi", options={"num_predict": 1})
    ps = hearth("ps")
    rows = ps.stdout.splitlines()
    check(ps.returncode == 0 and rows and rows[0].split()[:5] == ["NAME", "ID", "SIZE", "PROCESSOR", "UNTIL"],
          f"hearth ps: header ({ps.stdout!r} {ps.stderr!r})")
    check(any(r.startswith("smollm2") and "CPU" in r and "from now" in r for r in rows[1:]),
          f"hearth ps: smollm2 loaded, on the CPU, with its expiry ({rows})")
    wrong = hearth("ps", HEARTH_API_KEY="wrong")
    check(wrong.returncode == 1 and "incorrect API key" in wrong.stderr, f"hearth ps, wrong key: {wrong.stderr!r}")
    stop = hearth("stop", "smollm2")
    check(stop.returncode == 0, f"hearth stop smollm2: {stop.stderr!r}")
    loaded = [m["name"] for m in ollama.Client(host=srv.base, headers={"Authorization": f"Bearer {KEY}"}).ps()["models"]]
    check(not any(n.startswith("smollm2") for n in loaded), f"after hearth stop, /api/ps has no smollm2 ({loaded})")
    again = hearth("stop", "smollm2")
    check(again.returncode == 1 and "not running" in again.stderr, f"hearth stop, not loaded: {again.stderr!r}")
    gone = hearth("ps", HEARTH_HOST="127.0.0.1:1")
    check(gone.returncode == 1 and "127.0.0.1:1" in gone.stderr, f"hearth ps, no server: {gone.stderr!r}")


def run_openai(srv):
    c = openai.OpenAI(base_url=srv.base + "/v1", api_key=KEY, max_retries=0, timeout=120)
    models = [m.id for m in c.models.list().data]
    check(any(m.startswith("smollm2") for m in models), f"/v1/models lists smollm2: {models}")

    r = c.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": "Say hello."}],
                                  max_tokens=8, temperature=0)
    check(r.object == "chat.completion" and r.choices[0].message.role == "assistant", "chat completion shape")
    check(bool(r.choices[0].message.content), "chat completion has text")
    check(r.usage.completion_tokens <= 8 and r.usage.prompt_tokens > 0, f"usage {r.usage}")
    check(r.choices[0].finish_reason in ("stop", "length"), "finish_reason")

    chunks = list(c.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": "Say hello."}],
                                            max_tokens=8, temperature=0, stream=True,
                                            stream_options={"include_usage": True}))
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    check(text == r.choices[0].message.content, "streamed text equals the non-streamed text (greedy)")
    check(chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == r.usage.completion_tokens,
          "include_usage: a final chunk with usage")

    lp = c.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": "Hi"}], max_tokens=3,
                                   temperature=0, logprobs=True, top_logprobs=2)
    content = lp.choices[0].logprobs.content
    check(len(content) >= 1 and all(t.logprob <= 0 and len(t.top_logprobs) == 2 for t in content), "chat logprobs")
    check(all(a.token and a.bytes and a.token.encode("utf-8", "replace") for t in content for a in t.top_logprobs)
          and all(len({a.token for a in t.top_logprobs}) == 2 for t in content),
          "every top_logprobs alternative has its own text")
    legacy = c.completions.create(model="smollm2", prompt="The capital of France is", max_tokens=3, temperature=0,
                                  logprobs=3)
    check(all(len(alts) == 3 for alts in legacy.choices[0].logprobs.top_logprobs), "legacy logprobs 3: 3 entries")
    # Completions take the prompt as it is (no chat template): as many prompt tokens as `hearth tokenize` gives.
    ids = subprocess.run([HEARTH, "tokenize", "-m", SMOL_GGUF, "--text", "The capital of France is", "--ids"],
                         check=True, capture_output=True, text=True).stdout.split()
    raw = c.completions.create(model="smollm2", prompt="The capital of France is", max_tokens=1, temperature=0)
    check(raw.usage.prompt_tokens == len(ids), f"completions prompt tokens {raw.usage.prompt_tokens} == {len(ids)}")

    comp = c.completions.create(model="smollm2", prompt="The capital of France is", max_tokens=5, temperature=0)
    check(comp.object == "text_completion" and comp.usage.completion_tokens <= 5, "completions")
    streamed = "".join(ch.choices[0].text for ch in c.completions.create(
        model="smollm2", prompt="The capital of France is", max_tokens=5, temperature=0, stream=True) if ch.choices)
    check(streamed == comp.choices[0].text, "streamed completion equals the non-streamed one")

    for bad, field in [({"max_tokens": 2 ** 63}, "max_tokens"), ({"temperature": -1}, "temperature"),
                       ({"stop": ["x"] * 100}, "stop"), ({"top_p": 5}, "top_p")]:
        try:
            c.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": "x"}], **bad)
            check(False, f"{field}: bad value accepted")
        except openai.BadRequestError as e:
            check(e.status_code == 400 and field in str(e), f"{field}: 400 naming the field")
        except Exception as e:  # noqa: BLE001
            check(False, f"{field}: unexpected {type(e).__name__}: {e}")
    try:
        c.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
        check(False, "unknown model accepted")
    except openai.NotFoundError:
        check(True, "unknown model: 404")
    bad_key = openai.OpenAI(base_url=srv.base + "/v1", api_key="wrong", max_retries=0)
    try:
        bad_key.models.list()
        check(False, "wrong API key accepted")
    except openai.AuthenticationError:
        check(True, "wrong API key: 401")
    # A rejected request changes nothing for the next one.
    again = c.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": "Say hello."}],
                                      max_tokens=8, temperature=0)
    check(again.choices[0].message.content == r.choices[0].message.content, "same answer after rejected requests")


def run_ollama(srv):
    c = ollama.Client(host=srv.base, headers={"Authorization": f"Bearer {KEY}"})
    names = [m.model for m in c.list().models]
    check(any(n.startswith("smollm2") for n in names), f"/api/tags lists smollm2: {names}")
    r = c.chat(model="smollm2", messages=[{"role": "user", "content": "Say hello."}],
               options={"temperature": 0, "num_predict": 8})
    check(r.done and r.message.role == "assistant" and r.message.content, "ollama chat")
    check(r.eval_count <= 8 and r.prompt_eval_count > 0 and r.total_duration > 0, "ollama timing fields")
    parts = list(c.chat(model="smollm2", messages=[{"role": "user", "content": "Say hello."}],
                        options={"temperature": 0, "num_predict": 8}, stream=True))
    check(parts[-1].done and "".join(p.message.content for p in parts) == r.message.content,
          "ollama streamed chat equals the non-streamed one")
    g = c.generate(model="smollm2", prompt="The capital of France is", options={"temperature": 0, "num_predict": 5})
    check(g.done and g.response, "ollama generate")
    gs = list(c.generate(model="smollm2", prompt="The capital of France is",
                         options={"temperature": 0, "num_predict": 5}, stream=True))
    check("".join(p.response for p in gs) == g.response, "ollama streamed generate equals the non-streamed one")
    show = c.show("smollm2")
    check(bool(show.modelfile) and show.details.family is not None, "ollama show")
    check(any(m.model.startswith("smollm2") for m in c.ps().models), "ollama ps lists the loaded model")
    c.copy("smollm2", "copy-of-smollm2")
    check(any(m.model.startswith("copy-of-smollm2") for m in c.list().models), "ollama copy")
    c.delete("copy-of-smollm2")
    check(not any(m.model.startswith("copy-of-smollm2") for m in c.list().models), "ollama delete")
    try:
        c.chat(model="no-such-model", messages=[{"role": "user", "content": "x"}])
        check(False, "ollama unknown model accepted")
    except ollama.ResponseError as e:
        check(e.status_code == 404, "ollama unknown model: 404")
    req = urllib.request.Request(srv.base + "/api/version", headers={"Authorization": f"Bearer {KEY}"})
    check(b"version" in urllib.request.urlopen(req, timeout=5).read(), "ollama version")
    # Hostile bodies the clients cannot send: NaN, deep nesting, invalid UTF-8, a lying Content-Length.
    for body, what in [(b'{"model":"smollm2","messages":[{"role":"user","content":"x"}],"top_p":NaN}', "NaN"),
                       (b'{"model":' + b"[" * 100000 + b"]" * 100000 + b"}", "deep nesting"),
                       (b'{"model":"smollm2","messages":[{"role":"user","content":"\xff\xfe"}]}', "invalid UTF-8")]:
        status = raw_post(srv, "/v1/chat/completions", body)
        check(status == 400, f"{what}: 400 (got {status})")
    check(raw_post(srv, "/v1/chat/completions", b"{}", length=10**12) == 413, "huge Content-Length: 413")


def run_ollama_management(srv):
    c = ollama.Client(host=srv.base, headers={"Authorization": f"Bearer {KEY}"})
    # /api/pull streams progress from a (fake, local) Hugging Face hub, then the model is in the store.
    parts = list(c.pull("org/tiny", stream=True))
    totals = [p for p in parts if p.total and p.completed is not None]
    check(len(totals) >= 2 and totals[-1].completed == totals[-1].total == os.path.getsize(TINY_GGUF),
          f"ollama pull streams progress up to the file size ({len(totals)} progress lines)")
    check(all(a.completed <= b.completed for a, b in zip(totals, totals[1:])), "pull progress never goes back")
    check(parts[-1].status == "success", f"ollama pull ends in success (last: {parts[-1].status})")
    pulled = [m.model for m in c.list().models if "org/tiny" in m.model]
    check(len(pulled) == 1, f"the pulled model is listed: {pulled}")
    if pulled:
        g = c.generate(model=pulled[0], prompt="Hi", options={"temperature": 0, "num_predict": 3})
        check(g.done, "the pulled model answers")
        c.delete(pulled[0])
    check(c.pull("org/tiny", stream=False).status == "success", "ollama pull, not streamed")
    try:
        c.pull("org/no-such-repo", stream=False)
        check(False, "pull of a missing repository succeeded")
    except ollama.ResponseError as e:
        check(e.status_code == 404, f"pull of a missing repository: 404 (got {e.status_code})")
    # /api/create from a model in the store, with a system prompt and a parameter.
    c.create(model="terse", from_="smollm2", system="Answer in one word.", parameters={"temperature": 0})
    shown = c.show("terse")
    check("Answer in one word." in (shown.modelfile or ""), "ollama create keeps the system prompt (in the Modelfile)")
    r = c.chat(model="terse", messages=[{"role": "user", "content": "Name a color."}], options={"num_predict": 4})
    check(r.done and r.message.content, "the created model answers")
    c.delete("terse")
    check(not any(m.model.startswith("terse") for m in c.list().models), "created model deleted")


def raw_post(srv, path, body, length=None):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    n = len(body) if length is None else length
    s.sendall(f"POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {KEY}\r\n"
              f"Content-Type: application/json\r\nContent-Length: {n}\r\nConnection: close\r\n\r\n".encode() + body)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    m = re.match(rb"HTTP/1\.1 (\d+)", data)
    return int(m.group(1)) if m else None


def one_chat(base, prompt, n=12):
    c = openai.OpenAI(base_url=base + "/v1", api_key=KEY, max_retries=0, timeout=300)
    r = c.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": prompt}], max_tokens=n,
                                  temperature=0)
    return r.choices[0].message.content


def stream_and_maybe_drop(base, i, drop):
    """Streams a chat over a raw socket (so the client can vanish mid-stream); returns (well_formed, dropped)."""
    body = json.dumps({"model": "smollm2", "stream": True, "max_tokens": 24, "temperature": 0.7, "seed": i,
                       "messages": [{"role": "user", "content": f"Tell me a story number {i}."}]}).encode()
    s = socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])), timeout=300)
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + KEY.encode() +
              b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() +
              b"\r\nConnection: close\r\n\r\n" + body)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
        if drop and data.count(b"data: ") >= 3:
            s.close()
            return True, True
    s.close()
    text = data.decode("utf-8", "replace")
    ok = text.startswith("HTTP/1.1 200") and data.endswith(b"\r\n0\r\n\r\n") and sse_well_formed(data)
    if not ok:
        print("malformed or refused stream:", text[:200].replace("\r\n", " | "), "...", text[-120:], flush=True)
    return ok, False


def sse_well_formed(response):
    """De-chunks an HTTP/1.1 chunked body and checks the SSE events: JSON chunks, then one final [DONE]."""
    head, _, rest = response.partition(b"\r\n\r\n")
    body = b""
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        body, rest = body + rest[:size], rest[size + 2:]
    events = [e for e in body.decode().split("\n\n") if e]
    if not events or events[-1] != "data: [DONE]":
        return False
    for e in events[:-1]:
        if not e.startswith("data: "):
            return False
        json.loads(e[6:])
    return json.loads(events[-2][6:])["choices"][0]["finish_reason"] in ("stop", "length")


def run_concurrency(srv):
    # Determinism: greedy alone and alongside 7 others gives the same tokens.
    alone = one_chat(srv.base, "What is the capital of France?")
    with cf.ThreadPoolExecutor(8) as ex:
        futs = [ex.submit(one_chat, srv.base, "What is the capital of France?")] + \
               [ex.submit(one_chat, srv.base, f"Tell me about the number {i}.") for i in range(7)]
        together = futs[0].result()
        [f.result() for f in futs[1:]]
    check(alone == together, "greedy answer identical alone and with 7 concurrent requests")

    # 32 concurrent streaming clients, ~30% vanish mid-stream; /health stays responsive.
    rng = random.Random(1)
    drops = [rng.random() < 0.3 for _ in range(32)]
    health_ok = []
    stop = threading.Event()

    def poll_health():
        while not stop.is_set():
            t0 = time.time()
            try:
                health_ok.append(health(srv.base) and time.time() - t0 < 5)
            except Exception:  # noqa: BLE001
                health_ok.append(False)
            time.sleep(0.2)

    poller = threading.Thread(target=poll_health)
    poller.start()
    with cf.ThreadPoolExecutor(32) as ex:
        results = list(ex.map(lambda i: stream_and_maybe_drop(srv.base, i, drops[i]), range(32)))
    stop.set()
    poller.join()
    completed = [ok for ok, dropped in results if not dropped]
    check(all(completed) and len(completed) == drops.count(False), f"{len(completed)} completed streams well-formed")
    check(health_ok and all(health_ok), f"/health answered within 5 s throughout ({len(health_ok)} polls)")
    # Slots were freed: a fresh request still runs, and the engine reports nothing active.
    check(one_chat(srv.base, "What is the capital of France?") == alone, "a request after the burst runs")
    req = urllib.request.Request(srv.base + "/metrics", headers={"Authorization": f"Bearer {KEY}"})
    metrics = urllib.request.urlopen(req, timeout=5).read().decode()
    active = re.search(r"^hearth_active_requests (\d+)", metrics, re.M)
    check(active is not None and active.group(1) == "0", "metrics: no active requests left")


if __name__ == "__main__":
    main()
