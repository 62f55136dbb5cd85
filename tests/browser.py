"""Open a local page in Debian's chromium, headless, and report what a reader would see.

Chromium is driven over the Chrome DevTools Protocol (a websocket; `websockets`' sync client): no WebDriver,
no browser download. `open_page` navigates to the file, waits for the load event, then collects console errors,
uncaught exceptions and failed loads, every request that left the file (anything but file: and data: URLs),
whether each <img> decoded (`naturalWidth`), and a full-page screenshot.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

IMAGES = """(async () => {
  const images = Array.from(document.images);
  const decoded = await Promise.all(images.map(i => i.decode().then(() => true, () => false)));
  return JSON.stringify(images.map((image, k) => ({
    alt: image.alt, decoded: decoded[k], naturalWidth: image.naturalWidth, naturalHeight: image.naturalHeight,
    src: image.src.slice(0, 30)})));
})()"""


def chromium() -> str | None:
    """The chromium binary on PATH (Debian's package installs `chromium`), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Page:
    """What loading the page showed."""

    title: str
    errors: list[str]  # console errors, uncaught exceptions, log entries at level error
    requests: list[str]  # every URL the page asked for
    images: list[dict[str, Any]]
    screenshot: bytes  # PNG of the whole page
    text: str = ""  # the page's visible text (document.body.innerText) when it was taken

    @property
    def remote_requests(self) -> list[str]:
        return [url for url in self.requests if not url.startswith(("file:", "data:"))]


class _Session:
    """One page target's websocket: commands answered by id, events kept in order."""

    def __init__(self, url: str, timeout: float):
        from websockets.sync.client import connect

        self.socket = connect(url, max_size=None, open_timeout=timeout)
        self.timeout, self.events, self.next_id = timeout, [], 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=self.timeout))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not any(e.get("method") == method for e in self.events):
            self.events.append(json.loads(self.socket.recv(timeout=max(0.1, deadline - time.monotonic()))))


def open_page(path: Path | str, width: int = 1280, timeout: float = 60.0, until: tuple[str, ...] = ()) -> Page:
    """Load `path` (a file, or an http:// URL) in headless chromium and collect what it showed (see the module
    docstring); a page that draws itself after loading (a web app's) is taken once its text shows each of `until`,
    or when `timeout` runs out."""
    binary = chromium()
    if binary is None:
        raise RuntimeError("chromium is not installed")
    profiles = tempfile.TemporaryDirectory(ignore_cleanup_errors=True)
    with profiles as profile, _browser(binary, Path(profile), width) as port:
        target = _page_target(port, timeout)
        session = _Session(target, timeout)
        try:
            for domain in ("Page", "Runtime", "Log", "Network"):
                session.call(f"{domain}.enable")
            url = path if str(path).startswith(("http://", "https://")) else Path(path).resolve().as_uri()
            session.call("Page.navigate", url=url)
            session.wait_for("Page.loadEventFired")
            text = _text_once(session, until, timeout)
            images = session.call("Runtime.evaluate", expression=IMAGES, awaitPromise=True, returnByValue=True)
            title = session.call("Runtime.evaluate", expression="document.title", returnByValue=True)
            size = session.call("Page.getLayoutMetrics")["cssContentSize"]
            clip = {"x": 0, "y": 0, "width": width, "height": size["height"], "scale": 1}
            shot = session.call("Page.captureScreenshot", format="png", captureBeyondViewport=True, clip=clip)
        finally:
            session.socket.close()
    return Page(
        title=title["result"].get("value", ""),
        errors=_errors(session.events),
        requests=[e["params"]["request"]["url"][:200] for e in session.events if _is("Network.requestWillBeSent", e)],
        images=json.loads(images["result"]["value"]),
        screenshot=base64.b64decode(shot["data"]),
        text=text,
    )


def _text_once(session: _Session, until: tuple[str, ...], timeout: float) -> str:
    """The page's visible text once it shows each of `until` (or as it is when `timeout` runs out)."""
    deadline = time.monotonic() + timeout
    while True:
        found = session.call("Runtime.evaluate", expression="document.body.innerText", returnByValue=True)
        text = found["result"].get("value") or ""
        if all(part in text for part in until) or time.monotonic() > deadline:
            return text
        time.sleep(0.5)


def _is(method: str, event: dict[str, Any]) -> bool:
    return event.get("method") == method


def _errors(events: list[dict[str, Any]]) -> list[str]:
    errors = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            errors.append(json.dumps(params["exceptionDetails"])[:500])
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(json.dumps(params.get("args"))[:500])
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            errors.append(params["entry"].get("text", "")[:500])
        elif method == "Network.loadingFailed":
            errors.append(f"failed to load: {params.get('errorText')}")
    return errors


@contextlib.contextmanager
def _browser(binary: str, profile: Path, width: int):
    """Chromium with a DevTools port of its own choosing (read back from DevToolsActivePort); ended on exit."""
    command = [
        binary,
        "--headless",
        "--no-sandbox",  # the tests may run as root, where chromium's sandbox refuses to start
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--remote-debugging-port=0",
        "--remote-allow-origins=*",
        f"--user-data-dir={profile}",
        f"--window-size={width},900",
        "about:blank",
    ]
    # A session of its own: its helper processes (renderer, crash handler) end with it, not after the profile's
    # removal, where one still writing there made the removal fail ("Directory not empty: 'Default'").
    # Its scratch folders (org.chromium.Chromium.*) go under the profile, which is removed, not into /tmp.
    scratch = profile / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env
    )
    try:
        active = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (active.exists() and active.read_text().strip()):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chromium did not open its DevTools port (exit status {process.poll()})")
            time.sleep(0.1)
        yield int(active.read_text().split()[0])
    finally:
        _end_group(process)


def _end_group(process: subprocess.Popen) -> None:
    """SIGTERM to chromium's whole process group, SIGKILL to what is left after 10 s."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            continue
        deadline = time.monotonic() + 10  # the group's other members, which are not this process's children
        while time.monotonic() < deadline and _group_alive(process.pid):
            time.sleep(0.05)
        if not _group_alive(process.pid):
            return


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def _page_target(port: int, timeout: float) -> str:
    """The websocket URL of chromium's first page."""
    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=timeout) as response:
            pages = [t for t in json.loads(response.read()) if t.get("type") == "page"]
        if pages:
            return pages[0]["webSocketDebuggerUrl"]
        if time.monotonic() > deadline:
            raise RuntimeError("chromium opened no page")
        time.sleep(0.1)
