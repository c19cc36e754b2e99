"""Drive Debian's headless Chromium over the DevTools protocol, stdlib only.

``Browser`` starts ``/usr/bin/chromium`` headless with a fresh profile and
``--remote-debugging-port=0``, reads the port from the profile's DevToolsActivePort
file and speaks the protocol over a minimal RFC 6455 websocket client (one
connection, flattened target sessions). ``Browser.load(path)`` opens a file in a
new tab and returns a ``Page`` that recorded every console message, uncaught
exception, log entry and network request while it loaded; ``Page.evaluate`` runs
JavaScript in it and ``Page.screenshot`` writes a PNG.

No Playwright/Selenium, nothing downloaded: the browser is the distribution's.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

CHROMIUM = os.environ.get("MIGRATE_TEST_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--disable-extensions", "--disable-default-apps",
         "--mute-audio", "--hide-scrollbars", "--no-default-browser-check",
         "--font-render-hinting=none", "--remote-debugging-address=127.0.0.1"]


class BrowserError(RuntimeError):
    pass


def available() -> bool:
    return os.access(CHROMIUM, os.X_OK)


class _WebSocket:
    """Just enough of a websocket client for DevTools: text frames, fragmentation,
    ping/pong and close; client frames masked as RFC 6455 requires."""

    def __init__(self, host: str, port: int, path: str, timeout: float = 30.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n" % (path, host, port, key))
        self.sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise BrowserError("websocket handshake: connection closed")
            head += chunk
        status, _, self.buffer = head.partition(b"\r\n\r\n")
        if b" 101 " not in status.split(b"\r\n", 1)[0]:
            raise BrowserError("websocket handshake refused: %r" % status[:200])

    def _exact(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buffer)))
            if not chunk:
                raise BrowserError("websocket closed by the browser")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send(self, text: str) -> None:
        self._frame(0x1, text.encode("utf-8"))

    def recv(self) -> str:
        parts: List[bytes] = []
        while True:
            first, second = self._exact(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._exact(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._exact(8))[0]
            mask = self._exact(4) if second & 0x80 else None
            payload = self._exact(length)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x9:
                self._frame(0xA, payload)
                continue
            if opcode == 0x8:
                raise BrowserError("websocket closed by the browser")
            if opcode in (0x0, 0x1, 0x2):
                parts.append(payload)
                if first & 0x80:
                    return b"".join(parts).decode("utf-8")

    def close(self) -> None:
        try:
            self._frame(0x8, b"")
        except OSError:
            pass
        self.sock.close()


class Page:
    """One tab: its session id and what it did while loading."""

    def __init__(self, browser: "Browser", target_id: str, session: str):
        self.browser, self.target_id, self.session = browser, target_id, session
        self.events: List[Dict[str, Any]] = []
        self.url = ""

    def send(self, method: str, **params: Any) -> Dict[str, Any]:
        return self.browser.call(method, params, session=self.session)

    @property
    def console_messages(self) -> List[Dict[str, Any]]:
        return [e["params"] for e in self.events if e["method"] == "Runtime.consoleAPICalled"]

    @property
    def exceptions(self) -> List[Dict[str, Any]]:
        return [e["params"] for e in self.events if e["method"] == "Runtime.exceptionThrown"]

    @property
    def log_entries(self) -> List[Dict[str, Any]]:
        return [e["params"]["entry"] for e in self.events if e["method"] == "Log.entryAdded"]

    @property
    def requests(self) -> List[str]:
        """Every URL the page requested, the document itself excluded."""
        urls = [e["params"]["request"]["url"] for e in self.events
                if e["method"] == "Network.requestWillBeSent"]
        return [u for u in urls if u != self.url]

    def errors(self) -> List[str]:
        """Console errors/warnings, uncaught exceptions and error log entries (CSP
        violations land here), as readable lines."""
        out = ["console.%s: %s" % (m["type"], " ".join(
            str(a.get("value", a.get("description", ""))) for a in m.get("args", [])))
            for m in self.console_messages if m["type"] in ("error", "warning", "assert")]
        out += ["exception: %s" % e["exceptionDetails"].get("exception", {}).get(
            "description", e["exceptionDetails"].get("text")) for e in self.exceptions]
        out += ["log %s: %s" % (e["level"], e["text"]) for e in self.log_entries
                if e["level"] in ("error", "warning")]
        return out

    def evaluate(self, expression: str) -> Any:
        reply = self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                          awaitPromise=True)
        if "exceptionDetails" in reply:
            raise BrowserError("evaluate %r: %s" % (expression, reply["exceptionDetails"]))
        return reply["result"].get("value")

    def screenshot(self, path: Path, full_page: bool = False, width: int = 1280,
                   height: int = 900) -> Path:
        params: Dict[str, Any] = {"format": "png"}
        if full_page:
            metrics = self.send("Page.getLayoutMetrics")
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            params.update(captureBeyondViewport=True, clip={
                "x": 0, "y": 0, "width": width, "height": min(size["height"], 16000), "scale": 1})
        data = base64.b64decode(self.send("Page.captureScreenshot", **params)["data"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def close(self) -> None:
        self.browser.call("Target.closeTarget", {"targetId": self.target_id})


class Browser:
    """A headless Chromium with a fresh profile; use as a context manager."""

    def __init__(self, timeout: float = 30.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="migrate-chromium-")
        self.proc: Optional[subprocess.Popen] = None
        self.ws: Optional[_WebSocket] = None
        self.next_id = 0
        self.pending: List[Dict[str, Any]] = []

    def __enter__(self) -> "Browser":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, "--user-data-dir=%s" % self.profile, "--remote-debugging-port=0",
             "about:blank"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while True:
            if port_file.exists():
                lines = port_file.read_text().split("\n")
                if len(lines) >= 2 and lines[0].strip() and lines[1].strip():
                    break
            if self.proc.poll() is not None:
                raise BrowserError("chromium exited with %s before DevTools came up"
                                   % self.proc.returncode)
            if time.monotonic() > deadline:
                raise BrowserError("chromium DevTools did not come up in %.0f s" % self.timeout)
            time.sleep(0.05)
        self.ws = _WebSocket("127.0.0.1", int(lines[0]), lines[1].strip(), self.timeout)

    def stop(self) -> None:
        if self.ws is not None:
            try:
                self.call("Browser.close", {})
            except (BrowserError, OSError):
                pass
            self.ws.close()
            self.ws = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)  # the group this Popen started, nothing else
                self.proc.wait(timeout=5)
            self.proc = None
        shutil.rmtree(self.profile, ignore_errors=True)

    # -- protocol -----------------------------------------------------------------
    def _read(self) -> Dict[str, Any]:
        assert self.ws is not None
        return json.loads(self.ws.recv())

    def call(self, method: str, params: Dict[str, Any], session: Optional[str] = None
             ) -> Dict[str, Any]:
        assert self.ws is not None
        self.next_id += 1
        message: Dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            reply = self._read()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise BrowserError("%s: %s" % (method, reply["error"]))
                return reply.get("result", {})
            if "method" in reply:
                self.pending.append(reply)
        raise BrowserError("%s: no reply in %.0f s" % (method, self.timeout))

    def _wait_event(self, session: str, method: str, page: Page) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            while self.pending:
                event = self.pending.pop(0)
                if event.get("sessionId") == session:
                    page.events.append(event)
                    if event["method"] == method:
                        return
            if time.monotonic() > deadline:
                raise BrowserError("no %s in %.0f s" % (method, self.timeout))
            self.pending.append(self._read())

    def _drain(self, session: str, page: Page, quiet: float = 0.2) -> None:
        """Collect the events that arrive within `quiet` seconds of the last one."""
        assert self.ws is not None
        for event in self.pending:
            if event.get("sessionId") == session:
                page.events.append(event)
        self.pending = [e for e in self.pending if e.get("sessionId") != session]
        self.ws.sock.settimeout(quiet)
        try:
            while True:
                event = self._read()
                if event.get("sessionId") == session:
                    page.events.append(event)
        except (socket.timeout, TimeoutError):
            pass
        finally:
            self.ws.sock.settimeout(self.timeout)

    def load(self, path: Path, width: int = 1280, height: int = 900,
             javascript: bool = True) -> Page:
        """Open a local file in a new tab and wait for its load event."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"]
        page = Page(self, target, session)
        for method in ("Page.enable", "Runtime.enable", "Network.enable", "Log.enable"):
            page.send(method)
        page.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)
        if not javascript:
            page.send("Emulation.setScriptExecutionDisabled", value=True)
        page.url = Path(path).resolve().as_uri()
        page.send("Page.navigate", url=page.url)
        self._wait_event(session, "Page.loadEventFired", page)
        self._drain(session, page)
        return page


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module (import this fixture into the module)."""
    assert available(), ("Debian's chromium is needed for the browser tests: "
                         "apt-get install -y chromium fonts-dejavu-core (scripts/test.sh does)")
    with Browser() as b:
        yield b
