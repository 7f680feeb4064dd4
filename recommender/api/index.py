"""``GET /``: the first page a new user opens after ``make run``: links to what the service
offers, instead of a JSON 404."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request

bp = Blueprint("index", __name__)

# (path, what it answers); a path appears only when the app routes it, so a link never 404s.
LINKS: tuple[tuple[str, str], ...] = (
    ("/demo", "a sample news site with the related block under each article"),
    ("/v1/model", "the published model version and what it was trained on"),
    ("/openapi.json", "the HTTP API described as OpenAPI"),
    ("/healthz", "liveness: 200 while the process is alive"),
    ("/readyz", "readiness: 200 once a model is loaded, 503 with the reason before"),
)


def _routed(path: str) -> bool:
    adapter = current_app.url_map.bind("")
    return bool(adapter.test(path, method="GET"))


@bp.get("/")
def index() -> Response:
    links = [(request.script_root + path, path, text) for path, text in LINKS if _routed(path)]
    html = render_template("index.html", links=links)
    return Response(html, mimetype="text/html")
