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
