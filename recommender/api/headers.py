"""Every response header the service decides, in one place.

Related lists (JSON and HTML): an ETag over what the body depends on and public caching, or
``private, no-store`` for experiment traffic (per-visitor content, a unique impression id).
CORS on every response: with ``*`` allowed, ``Access-Control-Allow-Origin: *`` whatever the
request's ``Origin`` (a CDN may hand the first copy to every site); with a list of origins,
the allowed one is echoed and ``Vary: Origin`` tells caches the answer depends on it.
Security headers on every response (``nosniff``, ``Referrer-Policy``), and a
Content-Security-Policy per HTML surface: the ``/demo`` site and the server-side block may
not be framed by other sites; the ``?frame=1`` page exists to be framed, by any site.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Flask, Response, current_app, request

from recommender.serving import RelatedResult
from recommender.serving.request import digest

PRIVATE = "private, no-store"
# The widget changes only on deploy; an hour keeps it off the critical path of every page
# view, and the ETag makes the revalidation after that cheap.
ASSET_MAX_AGE = 3600
IMAGE_MAX_AGE = 86_400
REFERRER_POLICY = "strict-origin-when-cross-origin"
# Inline styles: the widget injects its CSS as a <style> element, and templates carry a few
# style attributes. Article images may live on any http(s) host.
_IMAGES = "img-src 'self' https: http: data:"
CSP = {
    # JSON, errors, assets: nothing to run, nothing to frame.
    "default": "default-src 'none'; frame-ancestors 'none'",
    "demo": ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
             f"{_IMAGES}; connect-src 'self'; base-uri 'none'; form-action 'self'; "
             "frame-ancestors 'self'"),
    # Meant to be included into the site's own page; opened on its own it runs nothing.
    "block": (f"default-src 'none'; style-src 'self' 'unsafe-inline'; {_IMAGES}; "
              "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    # The iframe page: the widget script (for events) from this service, framed by any site.
    "frame": ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
              f"{_IMAGES}; connect-src 'self'; base-uri 'none'; form-action 'none'; "
              "frame-ancestors *"),
}
FRAME_OPTIONS = {"demo": "SAMEORIGIN", "block": "DENY"}  # for browsers without CSP 2
# Request headers that can turn a related list into a 304 (or a range); without any of them
# werkzeug's conditional machinery has nothing to do, and it costs a few percent per request.
_CONDITIONAL = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MATCH", "HTTP_IF_MODIFIED_SINCE",
                "HTTP_IF_UNMODIFIED_SINCE", "HTTP_IF_RANGE", "HTTP_RANGE")


def related(resp: Response, result: RelatedResult, *depends_on: Any) -> Response:
    """Caching headers of a related list; a 304 when the client's copy matches.

    ``depends_on``: whatever else the body depends on (display parameters, base URL)."""
    if result.private:
        # A cached copy would repeat one impression id (and one visitor's variant) to others.
        resp.headers["Cache-Control"] = PRIVATE
        return resp
    # The core's fingerprint is this digest, computed once per cached list.
    etag = (result.fingerprint if result.fingerprint is not None and not depends_on
            else digest(result.stable_payload, *depends_on))
    resp.set_etag(etag)
    resp.headers["Cache-Control"] = f"public, max-age={current_app.config['CACHE_MAX_AGE']}"
    environ = request.environ
    if any(name in environ for name in _CONDITIONAL):
        resp.make_conditional(request)  # in place: a 304 without a body when the ETag matches
    return resp


def posted(resp: Response, result: RelatedResult) -> Response:
    """A list for posted text: never cached by a POST's nature, but experiment traffic is
    still marked private for any proxy that would."""
    if result.private:
        resp.headers["Cache-Control"] = PRIVATE
    return resp


def asset(resp: Response, body: bytes, *, gzipped: bool) -> Response:
    """A widget asset: compressed or not by Accept-Encoding, cached for an hour."""
    resp.vary.add("Accept-Encoding")
    if gzipped:
        resp.headers["Content-Encoding"] = "gzip"
    resp.set_etag(hashlib.blake2b(body, digest_size=12).hexdigest())
    resp.headers["Cache-Control"] = f"public, max-age={ASSET_MAX_AGE}"
    resp.make_conditional(request)
    return resp


def image(resp: Response) -> Response:
    resp.headers["Cache-Control"] = f"public, max-age={IMAGE_MAX_AGE}"
    return resp


def retry_after(resp: Response, seconds: int) -> Response:
    """A 503 the client should repeat, not before ``seconds``."""
    resp.headers["Retry-After"] = str(seconds)
    resp.headers["Cache-Control"] = PRIVATE
    return resp


def html(resp: Response, surface: str) -> Response:
    """The CSP (and X-Frame-Options) of one HTML surface: ``demo``, ``block`` or ``frame``."""
    resp.headers["Content-Security-Policy"] = CSP[surface]
    if surface in FRAME_OPTIONS:
        resp.headers["X-Frame-Options"] = FRAME_OPTIONS[surface]
    return resp


def unauthorized(resp: Response) -> Response:
    resp.headers["WWW-Authenticate"] = 'Bearer realm="recommender admin"'
    resp.headers["Cache-Control"] = PRIVATE
    return resp


def request_id(resp: Response, rid: str) -> Response:
    resp.headers["X-Request-Id"] = rid
    return resp


def install_security(app: Flask) -> None:
    @app.after_request
    def _security(resp: Response) -> Response:
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers.setdefault("Referrer-Policy", REFERRER_POLICY)
        resp.headers.setdefault("Content-Security-Policy", CSP["default"])
        return resp


def install_cors(app: Flask) -> None:
    origins = app.config["CORS_ORIGINS"]
    if not origins:
        return
    allow_any = "*" in origins
    allowed = frozenset(origins)

    @app.after_request
    def _cors(resp: Response) -> Response:
        if allow_any:
            resp.headers["Access-Control-Allow-Origin"] = "*"
        else:
            resp.vary.add("Origin")  # even when refused: another origin gets another answer
            origin = request.headers.get("Origin")
            if origin not in allowed:
                return resp
            resp.headers["Access-Control-Allow-Origin"] = origin
        resp.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        resp.headers["Access-Control-Allow-Headers"] = "Content-Type"
        resp.headers["Access-Control-Max-Age"] = "600"
        resp.headers["Access-Control-Expose-Headers"] = "ETag"
        return resp
