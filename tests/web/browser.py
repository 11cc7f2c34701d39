"""Headless Chromium for the page's tests: Debian's chromium and chromedriver, driven by selenium with both
paths given (and SE_AVOID_STATS set) so that selenium's driver manager never goes to the network. A missing
browser or driver exits 77 (ctest's SKIP_RETURN_CODE) saying what is missing."""
import os
import shutil
import sys
import tempfile

os.environ.setdefault("SE_AVOID_STATS", "true")

CHROMIUM = os.environ.get("HEARTH_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("HEARTH_CHROMEDRIVER", "/usr/bin/chromedriver")
SKIP = 77


def require_browser():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        print(f"SKIP: {' and '.join(missing)} not found (apt-get install chromium chromium-driver)", flush=True)
        sys.exit(SKIP)
    try:
        import selenium  # noqa: F401
    except ImportError:
        print("SKIP: the selenium package is missing from this Python (scripts/setup installs it)", flush=True)
        sys.exit(SKIP)


class Browser:
    """One headless Chromium with its own profile; `driver` is the selenium WebDriver."""

    def __init__(self, width=1280, height=800):
        require_browser()
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        self.profile = tempfile.mkdtemp(prefix="hearth-web-chromium-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for a in ("--headless=new", "--disable-dev-shm-usage", "--disable-gpu", f"--user-data-dir={self.profile}",
                  f"--window-size={width},{height}", "--no-first-run", "--disable-extensions",
                  "--disable-background-networking", "--disable-sync", "--disable-component-update",
                  "--disable-default-apps", "--metrics-recording-only", "--password-store=basic"):
            opts.add_argument(a)
        if os.geteuid() == 0:
            opts.add_argument("--no-sandbox")
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
        self.driver.set_page_load_timeout(30)
        self.driver.set_script_timeout(30)
        self.logs = []

    def console(self):
        """The console entries since the last call (each a dict: level, message)."""
        new = self.driver.get_log("browser")
        self.logs.extend(new)
        return new

    def errors(self, allow=()):
        """SEVERE console entries since the last call, less those containing any string in `allow`."""
        return [e for e in self.console() if e.get("level") == "SEVERE" and not any(a in e["message"] for a in allow)]

    def wait(self, cond, timeout=20, what="condition"):
        from selenium.webdriver.support.ui import WebDriverWait
        return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(lambda d: cond(d), message=what)

    def size(self, width, height, mobile=False):
        """Sets the viewport (not the window, whose size includes the browser's own bars) to width x height."""
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})

    def color_scheme(self, scheme):
        self.driver.execute_cdp_cmd("Emulation.setEmulatedMedia",
                                    {"features": [{"name": "prefers-color-scheme", "value": scheme}]})

    def quit(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)
