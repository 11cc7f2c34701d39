#!/usr/bin/env python3
"""Runs the page's JavaScript unit tests (tests/web/unit/*.test.js) in headless Chromium.

A small static server (a free port on 127.0.0.1) serves a temporary tree laid out as the hearth binary serves
the page: web/ at /, the Debian libraries under /vendor/..., and tests/web/ at /tests/web/, with the page's
Content-Security-Policy, so that a test breaking the CSP shows as a console error. The runner opens unit.html,
waits for window.__results, prints each failure, fails on any console error, and checks once that a
deliberately failing test is reported as failed (?selfcheck).

Usage: run_unit.py   (exit 0: all passed; 1: a failure; 77: no chromium/chromedriver/selenium)
"""
import functools
import http.server
import os
import shutil
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from browser import Browser, require_browser  # noqa: E402

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

# URL path -> file, as the binary maps them (the C++ side embeds the same files).
VENDOR = {
    "vendor/marked.min.js": "/usr/share/javascript/marked/marked.umd.min.js",
    "vendor/purify.min.js": "/usr/share/nodejs/dompurify/dist/purify.min.js",
    "vendor/highlight.min.js": "/usr/share/javascript/highlight.js/highlight.min.js",
    "vendor/hljs-light.css": "/usr/share/javascript/highlight.js/styles/github.css",
    "vendor/hljs-dark.css": "/usr/share/javascript/highlight.js/styles/atom-one-dark.css",
    "vendor/katex/katex.min.js": "/usr/share/javascript/katex/katex.min.js",
    "vendor/katex/katex.min.css": "/usr/share/javascript/katex/katex.min.css",
}
KATEX_FONTS = "/usr/share/javascript/katex/fonts"


def build_tree():
    missing = [p for p in list(VENDOR.values()) + [KATEX_FONTS] if not os.path.exists(p)]
    if missing:
        print("SKIP: missing Debian packages' files: " + ", ".join(missing) +
              " (apt-get install libjs-marked node-dompurify libjs-highlight.js libjs-katex)")
        sys.exit(77)
    tree = tempfile.mkdtemp(prefix="hearth-web-unit-")
    for name in os.listdir(os.path.join(ROOT, "web")):
        os.symlink(os.path.join(ROOT, "web", name), os.path.join(tree, name))
    os.makedirs(os.path.join(tree, "tests"))
    os.symlink(HERE, os.path.join(tree, "tests", "web"))
    for url, src in VENDOR.items():
        os.makedirs(os.path.dirname(os.path.join(tree, url)), exist_ok=True)
        os.symlink(src, os.path.join(tree, url))
    fonts = os.path.join(tree, "vendor", "katex", "fonts")
    os.makedirs(fonts)
    for f in os.listdir(KATEX_FONTS):  # only the .woff2 fonts, as the binary serves
        if f.endswith(".woff2"):
            os.symlink(os.path.join(KATEX_FONTS, f), os.path.join(fonts, f))
    return tree


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".woff2": "font/woff2"}

    def end_headers(self):
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, *args):
        pass


def serve(tree):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=tree))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def run_page(browser, url):
    d = browser.driver
    d.get(url)
    from selenium.common.exceptions import TimeoutException
    try:
        browser.wait(lambda d: d.execute_script("return window.__results && window.__results.done"), 60,
                     "the unit tests to finish (window.__results.done)")
    except TimeoutException:
        # Most likely a module failed to load (a syntax error, a missing export): the console says which.
        for e in browser.console():
            print(f"console: {e['level']}: {e['message']}")
        raise
    return d.execute_script("return window.__results")


def main():
    require_browser()
    tree = build_tree()
    httpd = serve(tree)
    base = f"http://127.0.0.1:{httpd.server_address[1]}/tests/web/unit.html"
    browser = Browser()
    failed = False
    try:
        r = run_page(browser, base)
        for name in r["names"]:
            bad = next((f for f in r["failures"] if f["name"] == name), None)
            print(("FAIL: " if bad else "ok:   ") + name)
            if bad:
                print("      " + bad["error"].replace("\n", "\n      "))
        errors = browser.errors()
        for e in errors:
            print(f"FAIL: console error: {e['message']}")
        print(f"{r['passed']} passed, {r['failed']} failed, {len(errors)} console error(s)")
        failed = r["failed"] > 0 or len(errors) > 0 or r["passed"] == 0
        # The harness must be able to fail: one deliberately failing test must be reported as such.
        s = run_page(browser, base + "?selfcheck")
        browser.errors()
        self_ok = s["failed"] == 1 and s["failures"][0]["name"].startswith("selfcheck")
        print(("ok:   " if self_ok else "FAIL: ") + "selfcheck: a deliberately failing test is reported as failed")
        failed = failed or not self_ok
    finally:
        browser.quit()
        httpd.shutdown()
        shutil.rmtree(tree, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
