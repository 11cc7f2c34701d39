"""What the Python end-to-end tests share: a `hearth serve` subprocess (started on a free port with its own
HEARTH_HOME, its stderr (the access log) kept in `log`, stopped with SIGTERM), the fixture models' folder,
and check() / FAILURES (each check prints one line; a script exits non-zero when FAILURES is not empty)."""
import os
import re
import subprocess
import threading
import time

MODELS = os.environ.get("HEARTH_MODELS", os.path.expanduser("~/.cache/hearth/models"))
FAILURES = []


def check(cond, what):
    print(("ok:   " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        FAILURES.append(what)


def expect_400(fn, field, what):
    """fn() (a call through the openai or ollama client) must fail with a 400 whose message names `field`."""
    import ollama
    import openai
    try:
        fn()
        check(False, f"{what}: accepted")
    except (openai.BadRequestError, ollama.ResponseError) as e:
        check(getattr(e, "status_code", 400) == 400 and field in str(e), f"{what}: 400 naming {field} ({e})")


def write_router_config(home, local_model, cloud_base, cloud_model):
    """The router config the end-to-end tests share: `auto` runs `local_model` here and escalates to "test-cloud",
    a second `hearth serve` at `cloud_base` (key in $E2E_CLOUD_KEY) serving `cloud_model`; payment cards stay
    local (the default), e-mail addresses are pseudonymized."""
    with open(os.path.join(home, "router.toml"), "w") as f:
        f.write(f"""
[router]
local_model = "{local_model}"
aliases = ["auto"]

[[upstream]]
name = "test-cloud"
base_url = "{cloud_base}/v1"
model = "{cloud_model}"
api_key_env = "E2E_CLOUD_KEY"
allow_insecure = true
price_input_per_mtok = 1.0
price_output_per_mtok = 2.0
total_timeout_s = 60

[privacy]
default = "keep-local"
email = "pseudonymize"
""")


class Server:
    def __init__(self, hearth, home, *args, env=None):
        self.proc = subprocess.Popen([hearth, "serve", "--port", "0", *args],
                                     env={**os.environ, "HEARTH_HOME": home, **(env or {})},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.log = []
        self.port = None
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.log.append(line)
            m = re.search(r"listening on http://[^ ]*:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            raise RuntimeError("server did not start:\n" + "".join(self.log))
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stderr:
            self.log.append(line)

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.proc.terminate()
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return -1


def run_steps(hearth, models, server_args, steps, prefix="hearth-e2e-"):
    """The usual test script: checks the fixture models exist, starts a server with its own HEARTH_HOME, runs
    each step(srv), stops it (SIGTERM must exit 0) and exits 1 if any check failed."""
    import shutil
    import sys
    import tempfile
    for p in models:
        if not os.path.exists(p):
            print(f"missing fixture model {p}: run scripts/fetch-models")
            sys.exit(1)
    home = tempfile.mkdtemp(prefix=prefix)
    srv = Server(hearth, home, *server_args)
    try:
        for step in steps:
            step(srv)
    finally:
        rc = srv.stop()
        shutil.rmtree(home, ignore_errors=True)
    check(rc == 0, f"SIGTERM exits 0 (got {rc})")
    print(f"{len(FAILURES)} failure(s)")
    sys.exit(1 if FAILURES else 0)
