"""A real service on two 127.0.0.1 ports (two origins) and Debian's Chromium via Playwright.

The harness in front of the app records beacon posts to ``/v1/events`` (the widget's side of
the contract, independent of how the A/B layer stores them), serves test pages from either
origin, and imitates a failing (``/fail/...``) and a hanging (``/hang/...``) service.
"""

from __future__ import annotations

import importlib.util
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from recommender.api import create_app
from recommender.build.train import train
from tests.support.ci import require
from tests.support.paths import REPO

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
CORPUS = Path(__file__).parent / "corpus.jsonl"
SCREENSHOTS = REPO / "artifacts" / "screenshots"


@dataclass
class Harness:
    """WSGI middleware: test pages, an events recorder, and broken services."""

    app: Any = None
    pages: dict[str, str] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    beacons: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    related_delay: float = 0.0  # seconds added to every related-list request

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        req = Request(environ)
        path = req.path
        cors = {"Access-Control-Allow-Origin": "*"}
        if path.endswith("/v1/events") and req.method == "POST":
            body = req.get_data(as_text=True)
            with self.lock:
                self.beacons.append({"content_type": req.content_type, "body": body})
                self.events.extend(json.loads(body)["events"])
            return Response(status=204, headers=cors)(environ, start_response)
        if path.startswith("/pages/"):
            html = self.pages.get(path[len("/pages/"):])
            if html is None:
                return Response("no such test page", status=404)(environ, start_response)
            return Response(html, mimetype="text/html")(environ, start_response)
        if path.startswith("/fail/"):
            body = '{"error": {"code": 500, "message": "boom"}}'
            return Response(body, status=500, mimetype="application/json",
                            headers=cors)(environ, start_response)
        if self.related_delay and path.endswith("/related"):
            time.sleep(self.related_delay)
        if path.startswith("/hang/"):
            self.release.wait(15)
            return Response("late", status=503, headers=cors)(environ, start_response)
        return self.app(environ, start_response)


@dataclass
class LiveServer:
    service: str  # where widget.js and the API live
    site: str  # another origin (another port): a news site embedding the widget
    harness: Harness

    def page(self, name: str, body: str, *, origin: str | None = None,
             script: bool = True) -> str:
        """Register a test page and return its URL on ``origin`` (default: the service)."""
        tag = f'<script async src="{self.service}/widget.js"></script>' if script else ""
        self.harness.pages[name] = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{name}</title></head><body>{body}{tag}</body></html>"
        )
        return f"{origin or self.service}/pages/{name}"

    def get_json(self, path: str) -> dict[str, Any]:
        with urllib.request.urlopen(self.service + path, timeout=10) as resp:
            return json.loads(resp.read())

    def get_text(self, path: str) -> str:
        with urllib.request.urlopen(self.service + path, timeout=10) as resp:
            return resp.read().decode("utf-8")

    def wait_events(self, predicate: Callable[[list[dict[str, Any]]], bool],
                    timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.harness.lock:
                events = list(self.harness.events)
            if predicate(events):
                return events
            time.sleep(0.05)
        raise AssertionError(f"events never matched; got {events}")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    models = tmp_path_factory.mktemp("browser-models")
    train(CORPUS, models, {"index": {"top_k": 8}})
    harness = Harness()
    servers = [make_server("127.0.0.1", 0, harness, threaded=True) for _ in range(2)]
    service, site = (f"http://127.0.0.1:{s.server_port}" for s in servers)
    harness.app = create_app({"MODELS_DIR": str(models), "TESTING": True,
                              "RELOAD_INTERVAL": 60, "CORS_ORIGINS": [site]})
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for t in threads:
        t.start()
    yield LiveServer(service=service, site=site, harness=harness)
    harness.release.set()
    for s in servers:
        s.shutdown()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    require(CHROMIUM.exists(), f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    require(importlib.util.find_spec("playwright") is not None,
            "playwright is not installed (pip install -e '.[dev]')")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@dataclass
class PageErrors:
    uncaught: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def script_errors(self) -> list[str]:
        """Uncaught exceptions and console errors, except the browser's own network lines
        ("Failed to load resource", CORS refusals): a failing service is the scenario."""
        network = ("Failed to load resource", "blocked by CORS policy")
        return self.uncaught + [m for m in self.console if not any(n in m for n in network)]


@pytest.fixture
def page(browser: Any, live_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 1400})
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    errors = PageErrors()
    pg.on("pageerror", lambda exc: errors.uncaught.append(str(exc)))
    pg.on("console", lambda msg: errors.console.append(msg.text) if msg.type == "error" else None)
    pg.errors = errors
    with live_server.harness.lock:
        live_server.harness.events.clear()
        live_server.harness.beacons.clear()
        live_server.harness.related_delay = 0.0
    yield pg
    live_server.harness.related_delay = 0.0
    context.close()


def screenshot(pg: Any, name: str) -> Path:
    """Save a screenshot as a CI artefact (artifacts/ is git-ignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    return path
