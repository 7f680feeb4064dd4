"""``GET /v1/articles/<id>/related`` answered before Flask's request machinery.

The widget's request is the service's hot path, and a cached list costs little next to what
Flask adds around it (a request context, URL matching, a werkzeug ``Response``, six hooks
each looked up through context proxies). This WSGI middleware answers a plain GET of a list
by id with the same functions the Flask view and hooks use: the parameters
(``api/params``), the core's ``related``, the headers (``api/headers.related_json``), the
metrics (``api/metrics``) and the JSON log line with its request id (``api/requestlog``).

Everything else goes to Flask unchanged, so there is one implementation of each case: other
paths and methods, conditional requests (``If-None-Match``... : werkzeug's 304 logic),
paths werkzeug would decode or redirect (non-ASCII, ``//``), a GET with a body (the body
limits of ``api/body``), and any request the core or the
parameters refuse. A refused request is handed over before anything was recorded (the core
signs and queues ``served`` rows last), so Flask answers it again with the one error shape.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from flask import Flask

from recommender.api import headers, metrics, requestlog
from recommender.api.params import QueryArgs, related_request
from recommender.api.wiring import EXTENSION
from recommender.serving import RelatedResult
from recommender.serving import related as core_related

PREFIX, SUFFIX = "/v1/articles/", "/related"
RULE = "/v1/articles/<path:article_id>/related"  # the Flask route's, for metrics and logs
Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def article_id_of(environ: dict[str, Any]) -> str | None:
    """The article id when Flask would route the request to the related view, and nothing
    about it needs werkzeug (else None)."""
    if environ.get("REQUEST_METHOD") != "GET":
        return None
    path: str = environ.get("PATH_INFO", "")
    if len(path) <= len(PREFIX) + len(SUFFIX) or not (path.startswith(PREFIX)
                                                       and path.endswith(SUFFIX)):
        return None
    if not path.isascii() or "//" in path or headers.conditional(environ):
        return None
    if environ.get("CONTENT_LENGTH") not in (None, "", "0") or "HTTP_TRANSFER_ENCODING" in environ:
        return None  # a GET with a body: Flask's limits on bodies apply (api/body)
    return path[len(PREFIX):-len(SUFFIX)]


class FastRelated:
    """Wraps ``app.wsgi_app``; ``flask`` is the wrapped app, which answers the rest."""

    def __init__(self, app: Flask):
        self.app, self.flask = app, app.wsgi_app
        self.config = app.config
        self.cors = headers.cors_for(app.config)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        article_id = article_id_of(environ)
        if article_id is None:
            return self.flask(environ, start_response)
        start = time.perf_counter()
        try:
            args = QueryArgs.parse(environ.get("QUERY_STRING", ""))
            request = related_request(args, article_id=article_id, config=self.config)
            result = core_related(self.app.extensions[EXTENSION], request)
        except Exception:  # noqa: BLE001 - Flask answers it: the one error path
            return self.flask(environ, start_response)
        return self._answer(environ, start_response, result, start)

    def _answer(self, environ: dict[str, Any], start_response: Callable[..., Any],
                result: RelatedResult, start: float) -> list[bytes]:
        body = orjson.dumps(result.payload, option=orjson.OPT_SERIALIZE_NUMPY)
        rid = requestlog.choose_id(environ.get("HTTP_X_REQUEST_ID"))
        variant = metrics.list_served(result.payload["items"], result.payload["variant"])
        start_response("200 OK", headers.related_json(
            result, len(body), rid, environ.get("HTTP_ORIGIN"), self.config, self.cors))
        elapsed = time.perf_counter() - start
        metrics.answered(RULE, "GET", 200, variant, elapsed)
        metrics.sync_events(self.app)
        requestlog.write(requestlog.line_fields(rid, "GET", environ["PATH_INFO"], RULE, 200,
                                                elapsed, variant, len(body)))
        return [body]


def install(app: Flask) -> None:
    """Last in ``create_app``: the Flask app it wraps must be complete."""
    app.wsgi_app = FastRelated(app)  # type: ignore[method-assign]
