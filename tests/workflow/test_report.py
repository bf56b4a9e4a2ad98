"""The Snakemake report, end to end: run the workflow's report targets on the 300-molecule
Tox21 test config, build ``snakemake --report report.html``, open it in headless Chromium
(Debian's ``chromium``; ``scripts/install_chromium.sh`` installs it) and check that the page
renders its sections without console errors: the landing text fully visible, the findings
page first with one verdict row per stage that ran, every image decoding, no label drawn with
a character a font may lack, no unfilled ``{...}`` placeholder. Screenshots of the first
screen, the Data section, the findings page and the hit table are written to
``test-artifacts/`` (ignored by git).

Chromium is driven through the DevTools protocol over ``--remote-debugging-pipe`` (JSON
messages separated by NUL bytes on file descriptors 3 and 4), so no websocket client or
browser-automation package is needed.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
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

    def open(self, url: str, timeout: float = 60.0) -> None:
        """Navigate to ``url`` and wait until that document has loaded completely.

        Page.navigate answers when the navigation commits, before a large page is parsed;
        the report's ``<script id="results">`` element is then already the global
        ``results`` (a named element) while the JSON in it has not run yet."""
        self.call("Page.navigate", url=url)
        self.wait_for(
            f"document.URL === {json.dumps(url)} && document.readyState === 'complete'", timeout
        )

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

PLACEHOLDER = re.compile(r"\{(dataset|model|library|split|seed|wildcards[.a-z]*|[a-z_]+)\}")
DATA_URI = re.compile(r"data:([a-z+/.-]+);(?:[a-z]+=[^;,]+;)*base64,([A-Za-z0-9+/=]+)")


def embedded(report_html: Path) -> list[tuple[str, bytes]]:
    """Every base64 data URI embedded in the report: (mime type, decoded bytes)."""
    return [
        (m.group(1), base64.b64decode(m.group(2)))
        for m in DATA_URI.finditer(report_html.read_text())
    ]


def stages_that_ran(workdir: Path) -> set[str]:
    rep = workdir / "results/report"
    ran = {s for s in ("data", "models", "probes", "screen") if list(rep.glob(f"*/{s}"))}
    if (rep / "dynamics").is_dir():
        ran.add("dynamics")
    if list((workdir / "results").glob("*/shortcuts/findings.md")):
        ran.add("shortcuts")
    return ran


def test_report_is_self_contained_with_findings_first(report_html):
    text = report_html.read_text()
    # every data-stage item, the findings and the summary page are in the file, with captions
    for name in ["overview.html", "tasks.png", "ledger.png", "splits.png", "examples.svg",
                 "rejected.svg", "summary.html", "findings.html"]:  # fmt: skip
        assert name in text, name
    assert "Bemis" in text  # a caption (splits)
    assert "one verdict per question" in text  # the findings caption and label
    # nothing is fetched from the network: no external scripts or stylesheets
    assert not re.search(r"<script[^>]+src=\"https?://", text)
    assert not re.search(r"<link[^>]+href=\"https?://", text)
    assert report_html.stat().st_size <= 15 * 2**20, "report above 15 MB"


def test_embedded_pages_images_and_labels(report_html, workflow_run):
    """Static checks of every embedded file: images decode, drawn labels are plain ASCII
    (+/- and - instead of ± and −: no glyph a font may lack), no unfilled placeholder."""
    from PIL import Image

    items = embedded(report_html)
    kinds = [m for m, _ in items]
    assert kinds.count("image/png") >= 5 and kinds.count("image/svg+xml") >= 3
    n_text = 0
    for mime, data in items:
        if mime == "image/png":
            with Image.open(io.BytesIO(data)) as img:
                img.load()
                assert img.size[0] > 0
        elif mime == "image/svg+xml":
            root = ET.fromstring(data)
            for el in root.iter("{http://www.w3.org/2000/svg}text"):
                label = "".join(el.itertext())
                n_text += 1
                assert all(32 <= ord(c) < 127 for c in label), (
                    f"label with a non-ASCII glyph: {label!r}"
                )
                assert "\ufffd" not in label
                size = el.get("font-size")
                assert size is None or float(size) >= 12, f"label below 9 pt: {label!r}"
        elif mime == "text/html":
            page = data.decode("utf-8")
            assert "\ufffd" not in page
            assert not PLACEHOLDER.search(page), PLACEHOLDER.search(page).group(0)
    assert n_text > 0  # the hit and molecule legends are drawn as SVG text
    # captions are rendered into the report's JSON: none keeps a {wildcard}
    caption_text = re.findall(r'"caption":\s*"((?:[^"\\]|\\.)*)"', report_html.read_text())
    for cap in caption_text:
        assert not PLACEHOLDER.search(cap), f"unfilled placeholder in a caption: {cap[:200]}"
    workdir, _ = workflow_run
    ran = stages_that_ran(workdir)
    findings = pd.read_csv(workdir / "results/report/tox21/findings.csv")
    assert ran <= set(findings["stage"]), f"no verdict for {ran - set(findings['stage'])}"
    assert set(findings["flag"]) <= {"pass", "warn", "fail", "info"}


def _show_result(browser, suffix: str) -> None:
    browser.evaluate(
        f"(() => {{ const p = Object.keys(results).find(k => k.endsWith('{suffix}'));"
        " app.setView({content: results[p].mime_type.startsWith('image/') ? 'img' : 'html',"
        " contentPath: results[p].data_uri, resultPath: p}); })()"
    )


def _decoded(report_html: Path, suffix: str, tmp_path: Path) -> Path:
    """The embedded file whose result path ends in ``suffix``, written out to open it alone."""
    text = report_html.read_text()
    i = text.index(suffix)
    m = DATA_URI.search(text, i)
    out = tmp_path / Path(suffix).name
    out.write_bytes(base64.b64decode(m.group(2)))
    return out


def test_report_renders_in_chromium(report_html, browser, workflow_run, tmp_path):
    browser.open(report_html.as_uri())
    # React renders the menu and the landing page after load
    browser.wait_for(
        "document.querySelector('#app') && document.querySelector('#app').innerText.includes('1. Data')"
    )
    browser.pump(0.5)
    page = browser.evaluate("document.body.innerText")
    for section in SECTIONS:
        assert section in page, f"section {section!r} missing from the rendered page"
    assert "molprobe report: tox21" in page and "findings" in page
    landing = browser.evaluate("(document.querySelector('.prose') || {innerText: ''}).innerText")
    assert "molprobe report: tox21" in landing and "Configuration" not in landing  # no dead link
    assert browser.evaluate("document.title") == "molprobe report: tox21"
    # the landing text is fully visible: every block inside the window and on top
    hidden = browser.evaluate(
        "(() => { const d = document.querySelector('.prose'); if (!d) return ['no .prose'];"
        " return [...d.children].filter(el => { const r = el.getBoundingClientRect();"
        " const top = document.elementFromPoint(r.left + 5, r.top + Math.min(8, r.height / 2));"
        " return r.top < 0 || r.bottom > window.innerHeight || !(top && d.contains(top)); })"
        ".map(el => el.innerText.slice(0, 60)); })()"
    )
    assert not hidden, f"landing text clipped or covered: {hidden}"
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
    _show_result(browser, "data/tasks.png")
    browser.wait_for(
        "[...document.images].some(i => i.src.startsWith('data:image/png') && i.naturalWidth > 0)"
    )
    browser.screenshot(ARTIFACTS / "report-data.png")

    # the findings page inside the report (iframe), then alone to read its rows
    _show_result(browser, "tox21/findings.html")
    browser.wait_for("document.querySelector('iframe') !== null")
    browser.pump(1.0)
    browser.screenshot(ARTIFACTS / "report-findings-in-report.png")
    browser.open(_decoded(report_html, "tox21/findings.html", tmp_path).as_uri())
    browser.wait_for("document.querySelectorAll('tr.verdict').length > 0")
    stages = set(
        browser.evaluate("[...document.querySelectorAll('tr.verdict')].map(r => r.dataset.stage)")
    )
    ran = stages_that_ran(workflow_run[0])
    assert ran <= stages, f"findings page lacks a verdict for {ran - stages}"
    assert browser.evaluate("[...document.querySelectorAll('h2')].length") >= len(ran)
    browser.screenshot(ARTIFACTS / "findings.png")

    # the hit table: sortable, filterable, paged; thumbnails decode
    hits = _decoded(report_html, "screen/muv/hits.html", tmp_path)
    browser.open(hits.as_uri())
    browser.wait_for("document.querySelectorAll('table.data > tbody > tr').length > 0")
    heads = browser.evaluate(
        "[...document.querySelectorAll('table.data > thead > tr > th')].map(t => t.innerText)"
    )
    assert heads[:6] == ["structure", "rank", "id", "score", "spread", "top_task"], heads
    n = browser.evaluate("document.querySelectorAll('table.data > tbody > tr').length")
    browser.wait_for("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
    # sort by score ascending: the first visible row has the lowest score
    browser.evaluate("document.querySelectorAll('table.data > thead > tr > th')[3].click()")
    first = browser.evaluate(
        "parseFloat([...document.querySelectorAll('table.data > tbody > tr')].find(r => r.style.display !== 'none').cells[3].dataset.v)"
    )
    scores = browser.evaluate(
        "[...document.querySelectorAll('table.data > tbody > tr')].map(r => parseFloat(r.cells[3].dataset.v))"
    )
    assert first == min(scores)
    browser.evaluate(
        "document.querySelectorAll('table.data > thead > tr > th')[3].click()"
    )  # descending
    browser.evaluate(
        "(() => { const b = document.getElementById('filter'); b.value = 'zzz-no-such-hit';"
        " b.dispatchEvent(new Event('input')); })()"
    )
    assert browser.evaluate("document.getElementById('info').textContent").startswith(f"0 of {n}")
    browser.evaluate(
        "(() => { const b = document.getElementById('filter'); b.value = '';"
        " b.dispatchEvent(new Event('input')); })()"
    )
    browser.screenshot(ARTIFACTS / "hits.png")

    # images embedded in the report decode (data URIs of PNG/SVG results)
    browser.open(report_html.as_uri())
    browser.wait_for("typeof results === 'object' && !(results instanceof Element)")
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
