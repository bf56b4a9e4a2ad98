"""The Snakemake report, end to end: run the workflow's report targets on the 300-molecule
Tox21 test config, build ``snakemake --report report.html``, open it in headless Chromium
(Debian's ``chromium``; ``scripts/install_chromium.sh`` installs it) and check that the page
renders its sections without console errors. Screenshots of the first screen and of the Data
section are written to ``test-artifacts/`` (ignored by git).

Chromium is driven through the DevTools protocol over ``--remote-debugging-pipe`` (JSON
messages separated by NUL bytes on file descriptors 3 and 4), so no websocket client or
browser-automation package is needed.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, data_required, unavailable

pytestmark = pytest.mark.slow

ARTIFACTS = REPO / "test-artifacts"
SECTIONS = [
    "0. Summary",
    "1. Data",
    "2. Models",
    "3. Probes",
    "4. Dynamics and LSTM",
    "5. Screening",
]
DATA_ITEMS = [
    "overview",
    "labels per task",
    "standardization ledger",
    "splits and scaffolds",
    "example molecules",
    "rejected inputs",
]


def chromium_binary() -> str | None:
    for candidate in (os.environ.get("MOLPROBE_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):  # fmt: skip
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


# ------------------------------------------------------------------------------ DevTools pipe


class Browser:
    """Minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe``."""

    def __init__(self, binary: str, width: int = 1280, height: int = 900):
        self.profile = tempfile.mkdtemp(prefix="molprobe-chromium-")
        to_chrome_r, self._to_chrome_w = os.pipe()
        self._from_chrome_r, from_chrome_w = os.pipe()
        args = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", f"--user-data-dir={self.profile}", f"--window-size={width},{height}",
                "--remote-debugging-pipe", "about:blank"]  # fmt: skip

        def _fds():  # child: fd 3 = commands in, fd 4 = replies out
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        self.proc = subprocess.Popen(
            args,
            preexec_fn=_fds,
            pass_fds=(3, 4),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []
        self.session = None
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    def _read(self, timeout: float) -> dict | None:
        while b"\0" not in self._buf:
            ready, _, _ = select.select([self._from_chrome_r], [], [], timeout)
            if not ready:
                return None
            chunk = os.read(self._from_chrome_r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method: str, timeout: float = 30.0, **params) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if self.session:
            msg["sessionId"] = self.session
        os.write(self._to_chrome_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = self._read(max(0.0, deadline - time.monotonic()))
            if reply is None:
                break
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)
        raise TimeoutError(f"no reply to {method} within {timeout} s")

    def pump(self, seconds: float) -> None:
        """Collect events for ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            msg = self._read(max(0.0, deadline - time.monotonic()))
            if msg is None:
                break
            self.events.append(msg)

    def evaluate(self, expression: str):
        result = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            self.pump(0.2)
        raise TimeoutError(f"page never satisfied: {expression}")

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))

    def console_errors(self) -> list[str]:
        errors = []
        for ev in self.events:
            method, p = ev.get("method"), ev.get("params", {})
            if method == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                errors.append(
                    f"exception: {d.get('exception', {}).get('description') or d.get('text')}"
                )
            elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                errors.append(
                    "console.error: "
                    + " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"])
                )
            elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
                errors.append(f"log: {p['entry'].get('text')} ({p['entry'].get('url', '')})")
        return errors

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.call("Browser.close", timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_chrome_w, self._from_chrome_r):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)


# ------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def browser():
    binary = chromium_binary()
    if binary is None:
        unavailable(
            "no chromium: run scripts/install_chromium.sh (or set MOLPROBE_CHROMIUM)",
            required=data_required(),  # `make test` installs it, so CI must not skip
        )
    b = Browser(binary)
    yield b
    b.close()


# ---------------------------------------------------------------------------------- tests


def test_report_is_self_contained_with_data_items(report_html):
    text = report_html.read_text()
    # every data-stage item and the summary page are in the file, with their captions
    for name in [
        "overview.html",
        "tasks.png",
        "ledger.png",
        "splits.png",
        "examples.svg",
        "rejected.svg",
        "summary.html",
    ]:
        assert name in text, name
    assert "Bemis" in text  # a caption (splits)
    assert "molecules kept" in text  # the headline numbers included into workflow.rst
    # nothing is fetched from the network: no external scripts or stylesheets
    assert not re.search(r"<script[^>]+src=\"https?://", text)
    assert not re.search(r"<link[^>]+href=\"https?://", text)


def test_report_renders_in_chromium(report_html, browser):
    browser.call("Page.navigate", url=report_html.as_uri())
    # React renders the menu and the summary page after load
    browser.wait_for(
        "document.querySelector('#app') && document.querySelector('#app').innerText.includes('1. Data')"
    )
    browser.pump(0.5)
    page = browser.evaluate("document.body.innerText")
    for section in SECTIONS:
        assert section in page, f"section {section!r} missing from the rendered page"
    assert "Headline numbers" in page
    m = re.search(r"(\d+) input rows → (\d+) molecules kept, (\d+) rejected", page)
    assert m, "headline numbers missing from the summary page"
    n_in, n_kept, n_rej = map(int, m.groups())
    assert n_in == 300 and n_kept + n_rej <= n_in and n_kept > 250
    assert "tox21" in page
    browser.evaluate("window.scrollTo(0, 0)")
    browser.screenshot(ARTIFACTS / "report.png")

    # open the Data section: its subcategory (the dataset) lists every data item
    browser.evaluate("app.showCategory('1. Data')")
    browser.wait_for("document.body.innerText.includes('tox21')")
    if "standardization ledger" not in browser.evaluate("document.body.innerText").lower():
        browser.evaluate(
            "app.setView({navbarMode: 'subcategory', category: '1. Data', subcategory: 'tox21'})"
        )
    browser.wait_for("document.body.innerText.toLowerCase().includes('standardization ledger')")
    page = browser.evaluate("document.body.innerText").lower()
    for item in DATA_ITEMS:
        assert item in page, f"data item {item!r} not listed"
    # show the labels-per-task plot the way the eye button does, for the artifact
    browser.evaluate(
        "(() => { const p = Object.keys(results).find(k => k.endsWith('data/tasks.png'));"
        " app.setView({content: 'img', contentPath: results[p].data_uri, resultPath: p}); })()"
    )
    browser.wait_for(
        "[...document.images].some(i => i.src.startsWith('data:image/png') && i.naturalWidth > 0)"
    )
    browser.screenshot(ARTIFACTS / "report-data.png")

    # images embedded in the report decode (data URIs of PNG/SVG results)
    n_ok = browser.evaluate(
        "Promise.all(Object.values(results).filter(r => r.mime_type.startsWith('image/')).map(r => "
        "new Promise(ok => { const i = new Image(); i.onload = () => ok(i.naturalWidth > 0); "
        "i.onerror = () => ok(false); i.src = r.data_uri; }))).then(v => v.filter(Boolean).length + '/' + v.length)"
    )
    good, total = map(int, n_ok.split("/"))
    assert total >= 5 and good == total, f"only {n_ok} report images decode"

    errors = browser.console_errors()
    assert not errors, "console errors:\n" + "\n".join(errors)
    shutil.copy(ARTIFACTS / "report.png", report_html.parent / "report.png")
