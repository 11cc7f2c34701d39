"""A `hearth serve` subprocess for the Python end-to-end tests: started on a free port with its own
HEARTH_HOME, its stderr (the access log) kept in `log`, stopped with SIGTERM."""
import os
import re
import subprocess
import threading
import time


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
