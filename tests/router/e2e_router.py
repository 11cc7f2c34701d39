#!/usr/bin/env python3
"""End-to-end: the hybrid router with the official `openai` and `ollama` Python clients. A second
`hearth serve` with another model (gemma-3-270m) is the "cloud"; the router's server answers `model: "auto"`
with the SmolLM2 fixture locally or escalates to it. Checks where answers come from (x-hearth-route, the
`hearth` object, the first stream chunk), pinned routes, that keep-local data never reaches the cloud, the
fallback when the cloud dies, `hearth router stats`, `show` and `audit --verify`.

Usage: e2e_router.py HEARTH_BINARY   (run by ctest as RouterE2E.*; exits non-zero on any failure)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request

import httpx
import ollama
import openai

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from hearth_server import FAILURES, MODELS, check, write_router_config, Server as HearthServer  # noqa: E402

HEARTH = sys.argv[1]
LOCAL = os.path.join(MODELS, "SmolLM2-135M-Instruct.Q4_1.gguf")
CLOUD = os.path.join(MODELS, "gemma-3-270m-q4_k_m.gguf")



def Server(home, *args, env=None):
    return HearthServer(HEARTH, home, "-t", "1", *args, env=env)


def main():
    for m in (LOCAL, CLOUD):
        if not os.path.exists(m):
            print(f"missing fixture model {m}: run scripts/fetch-models")
            return 1
    home = tempfile.mkdtemp(prefix="hearth-router-e2e-")
    cloud_home = tempfile.mkdtemp(prefix="hearth-router-cloud-")
    cloud = Server(cloud_home, "--allow-model-paths", "--api-key", "cloud-key")
    try:
        write_router_config(home, LOCAL, cloud.base, CLOUD)
        env = {"E2E_CLOUD_KEY": "cloud-key"}
        srv = Server(home, "--capture", os.path.join(home, "capture"), env=env)
        try:
            run(srv, cloud, home, env)
        finally:
            rc = srv.stop()
            check(rc == 0, f"router server exits 0 on SIGTERM (got {rc})")
            if FAILURES:
                print("".join(srv.log[-40:]))
    finally:
        cloud.stop()
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(cloud_home, ignore_errors=True)
    print(f"{len(FAILURES)} failure(s)")
    return 1 if FAILURES else 0


def run(srv, cloud, home, env):
    client = openai.OpenAI(base_url=srv.base + "/v1", api_key="unused", max_retries=0, timeout=120)
    msgs = [{"role": "user", "content": "Say hello in one word."}]

    ids = [m.id for m in client.models.list().data]
    check("auto" in ids, f"/v1/models lists the router alias 'auto' ({ids})")

    # Pinned cloud, not streamed: header, hearth object, the cloud model's answer.
    raw = client.chat.completions.with_raw_response.create(model="auto", messages=msgs, max_tokens=8,
                                                           temperature=0, extra_body={"route": "cloud"})
    resp = raw.parse()
    hearth = (resp.model_extra or {}).get("hearth", {})
    check(raw.headers.get("x-hearth-route") == "cloud", "openai: x-hearth-route: cloud")
    check(hearth.get("route") == "cloud" and hearth.get("upstream") == "test-cloud",
          f"openai: hearth object says cloud/test-cloud ({hearth})")
    check(bool(resp.choices[0].message.content), "openai: the cloud answered with text")

    # The same through the cloud directly gives the same greedy text.
    direct = openai.OpenAI(base_url=cloud.base + "/v1", api_key="cloud-key", max_retries=0).chat.completions.create(
        model=CLOUD, messages=msgs, max_tokens=8, temperature=0)
    check(direct.choices[0].message.content == resp.choices[0].message.content,
          "openai: the routed answer is the cloud model's own answer")

    # Pinned local, streamed: the first chunk carries the hearth object.
    stream = client.chat.completions.create(model="auto", messages=msgs, max_tokens=8, temperature=0, stream=True,
                                            extra_body={"route": "local"})
    chunks = list(stream)
    first = (chunks[0].model_extra or {}).get("hearth", {}) if chunks else {}
    check(first.get("route") == "local", f"openai stream: first chunk says local ({first})")
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    check(len(text) > 0, "openai stream: local text arrived")

    # Auto: the cascade decides; either way it says where and why.
    for s in (False, True):
        r = client.chat.completions.create(model="auto", messages=msgs, max_tokens=16, temperature=0, stream=s)
        if s:
            r = list(r)
            h = (r[0].model_extra or {}).get("hearth", {}) if r else {}
        else:
            h = (r.model_extra or {}).get("hearth", {})
        check(h.get("route") in ("local", "cloud") and h.get("reason"), f"openai auto stream={s}: {h}")

    # A route the router does not know is refused, naming the field.
    try:
        client.chat.completions.create(model="auto", messages=msgs, extra_body={"route": "sometimes"})
        check(False, "openai: route 'sometimes' refused")
    except openai.BadRequestError as e:
        check("route" in str(e), "openai: route 'sometimes' refused with 400 naming route")

    # Keep-local data (a payment card; default keep-local) never reaches the cloud, even pinned.
    before = cloud_requests(cloud)
    r = client.chat.completions.create(model="auto", max_tokens=4, temperature=0, extra_body={"route": "cloud"},
                                       messages=[{"role": "user", "content": "My card is 4111 1111 1111 1111."}])
    h = (r.model_extra or {}).get("hearth", {})
    check(h.get("route") == "local" and "payment_card" in h.get("reason", ""), f"keep-local card stays local ({h})")
    check(cloud_requests(cloud) == before, "keep-local: the cloud got no request")

    # Pseudonymized data goes out replaced, and the answer says which entity types were replaced.
    r = client.chat.completions.create(model="auto", max_tokens=4, temperature=0, extra_body={"route": "cloud"},
                                       messages=[{"role": "user", "content": "Write to ann.lee@example.com please."}])
    h = (r.model_extra or {}).get("hearth", {})
    check(h.get("route") == "cloud" and h.get("pseudonymized") == ["email"],
          f"pseudonymized email: the hearth object names the entity type ({h})")
    check("pseudonymized" not in first, "nothing replaced: no pseudonymized list")

    # Ollama client, streamed and not (its calls have no `route`: the config's default applies).
    oc = ollama.Client(host=srv.base)
    o = oc.chat(model="auto", messages=msgs, options={"temperature": 0, "num_predict": 8})
    check(bool(o["message"]["content"]), "ollama: auto answered")
    parts = list(oc.chat(model="auto", messages=msgs, stream=True, options={"temperature": 0, "num_predict": 8}))
    check(parts and parts[-1]["done"], "ollama stream: auto answered to done")
    hr = httpx.post(srv.base + "/api/chat", json={"model": "auto", "messages": msgs, "stream": False, "route": "cloud",
                                                  "options": {"temperature": 0, "num_predict": 8}}, timeout=120)
    check(hr.headers.get("x-hearth-route") == "cloud" and hr.json().get("hearth", {}).get("route") == "cloud",
          "ollama API: route cloud gives x-hearth-route and the hearth object")

    # Stats and metrics.
    st = subprocess.run([HEARTH, "router", "stats", "--url", srv.base], capture_output=True, text=True, timeout=30)
    check(st.returncode == 0 and "cloud" in st.stdout and "today $" in st.stdout,
          "hearth router stats prints the counters")
    stats = json.loads(urllib.request.urlopen(srv.base + "/api/router/stats", timeout=10).read())
    check(stats["cloud_spend_today_usd"] > 0 and abs(stats["cloud_spend_today_usd"] - stats["cloud_spend_usd"]) < 1e-12,
          f"/api/router/stats: today's spend is this run's ({stats['cloud_spend_today_usd']})")
    with urllib.request.urlopen(srv.base + "/metrics", timeout=10) as m:
        metrics = m.read().decode()
    check('hearth_router_requests_total{route="cloud"}' in metrics, "/metrics has the router counters")

    # `hearth run auto` goes through the same router: the answer on stdout, where and why on stderr.
    renv = {**os.environ, "HEARTH_HOME": home, **env}
    for route in ("cloud", "local"):
        run = subprocess.run([HEARTH, "run", "auto", "--route", route, "-n", "8", "--temp", "0", "-t", "1",
                              "Say hello in one word."], capture_output=True, text=True, env=renv, timeout=120)
        want = "answered by test-cloud (cloud)" if route == "cloud" else "answered locally: route pinned to local"
        check(run.returncode == 0 and run.stdout.strip() and want in run.stderr,
              f"hearth run auto --route {route}: {run.stderr.strip()[-160:]}")
    cloud_answer = subprocess.run([HEARTH, "run", "auto", "--route", "cloud", "-n", "8", "--temp", "0", "-t", "1",
                                   "Say hello in one word."], capture_output=True, text=True, env=renv, timeout=120)
    check(cloud_answer.stdout.strip() == direct.choices[0].message.content.strip(),
          "hearth run auto --route cloud prints the cloud model's answer")

    # The cloud dies: a pinned-cloud request is answered locally and says why.
    cloud.stop()
    r = client.chat.completions.create(model="auto", messages=msgs, max_tokens=4, temperature=0,
                                       extra_body={"route": "cloud"})
    h = (r.model_extra or {}).get("hearth", {})
    check(h.get("route") == "local" and "failed" in h.get("reason", ""), f"cloud down: answered locally ({h})")

    # The distillation capture: cloud answers only, exported as chat JSONL.
    out = os.path.join(home, "dataset.jsonl")
    exp = subprocess.run([HEARTH, "router", "export", "--capture", os.path.join(home, "capture"), "-o", out],
                         capture_output=True, text=True, env=renv, timeout=30)
    lines = open(out).read().splitlines() if os.path.exists(out) else []
    check(exp.returncode == 0 and lines and all(json.loads(x)["messages"][-1]["role"] == "assistant" for x in lines),
          f"hearth router export: {exp.stdout.strip()}")

    # What left the machine: an intact chain, no payload.
    show = subprocess.run([HEARTH, "router", "show"], capture_output=True, text=True, env=renv, timeout=30)
    check(show.returncode == 0 and "cloud-key" not in show.stdout and "env:E2E_CLOUD_KEY" in show.stdout,
          "hearth router show masks the key")
    ver = subprocess.run([HEARTH, "router", "audit", "--verify"], capture_output=True, text=True, env=renv, timeout=30)
    check(ver.returncode == 0 and "chain intact" in ver.stdout, f"audit --verify: {ver.stdout.strip()}")
    with open(os.path.join(home, "router", "audit.jsonl")) as f:
        log = f.read()
    # The payloads whole: a bare "4111" also turns up by chance in the records' hex digests and timings.
    check(all(p not in log for p in ("Say hello", "4111 1111 1111 1111", "4111111111111111", "ann.lee")),
          "the audit log holds no payload")


def cloud_requests(cloud):
    with urllib.request.urlopen(urllib.request.Request(cloud.base + "/metrics",
                                                       headers={"Authorization": "Bearer cloud-key"}), timeout=10) as m:
        text = m.read().decode()
    total = 0
    for line in text.splitlines():
        if line.startswith("hearth_http_requests_total") and "chat/completions" in line:
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


if __name__ == "__main__":
    sys.exit(main())
