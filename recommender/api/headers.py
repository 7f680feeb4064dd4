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
from collections.abc import Mapping
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
# On every response (``install``); the CSP and Referrer-Policy only where a view set none.
SECURITY = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", REFERRER_POLICY),
            ("Content-Security-Policy", CSP["default"]))
Items = list[tuple[str, str]]


def conditional(environ: Mapping[str, Any]) -> bool:
    """Whether the request can turn a related list into a 304 (or a range)."""
    return any(name in environ for name in _CONDITIONAL)


def caching(result: RelatedResult, max_age: int, *depends_on: Any) -> Items:
    """ETag and Cache-Control of a related list (``depends_on``: whatever else its body
    depends on: display parameters, base URL)."""
    if result.private:
        # A cached copy would repeat one impression id (and one visitor's variant) to others.
        return [("Cache-Control", PRIVATE)]
    # The core's fingerprint is this digest, computed once per cached list.
    etag = (result.fingerprint if result.fingerprint is not None and not depends_on
            else digest(result.stable_payload, *depends_on))
    return [("ETag", f'"{etag}"'), ("Cache-Control", f"public, max-age={max_age}")]


def related(resp: Response, result: RelatedResult, *depends_on: Any) -> Response:
    """Caching headers of a related list; a 304 when the client's copy matches."""
    for name, value in caching(result, current_app.config["CACHE_MAX_AGE"], *depends_on):
        resp.headers[name] = value
    if not result.private and conditional(request.environ):
        resp.make_conditional(request)  # in place: a 304 without a body when the ETag matches
    return resp


def related_json(result: RelatedResult, size: int, rid: str, origin: str | None,
                 config: Mapping[str, Any], cors: Cors | None) -> Items:
    """Every header of a related list's JSON 200 when no Flask response is built
    (``api/fastpath``): what ``related``, ``request_id``, the CORS and security hooks and
    Flask's JSON response would set."""
    out = [("Content-Type", "application/json"), ("Content-Length", str(size)),
           *caching(result, config["CACHE_MAX_AGE"]), ("X-Request-Id", rid), *SECURITY]
    if cors is not None:
        out.extend(cors.items(origin))
    return out


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
    _put(resp, [("X-Request-Id", rid)], True)
    return resp


class Cors:
    """The CORS headers for the configured origins (``*`` or a list)."""

    GRANTED = (("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
               ("Access-Control-Allow-Headers", "Content-Type"),
               ("Access-Control-Max-Age", "600"), ("Access-Control-Expose-Headers", "ETag"))

    def __init__(self, origins: list[str] | tuple[str, ...]):
        self.allow_any = "*" in origins
        self.allowed = frozenset(origins)
        self._any = [("Access-Control-Allow-Origin", "*"), *self.GRANTED]

    def items(self, origin: str | None) -> Items:
        """The headers for a request from ``origin``; ``Vary: Origin`` unless any origin is
        allowed (even when refused: another origin gets another answer)."""
        if self.allow_any:
            return self._any
        if origin not in self.allowed:
            return [("Vary", "Origin")]
        return [("Vary", "Origin"), ("Access-Control-Allow-Origin", origin), *self.GRANTED]


def cors_for(config: Mapping[str, Any]) -> Cors | None:
    origins = config["CORS_ORIGINS"]
    return Cors(origins) if origins else None


def _put(resp: Response, items: Items, overwrite: bool) -> None:
    """``items`` on ``resp``: added when absent (werkzeug's ``set`` scans and re-validates
    for each header, half of a small response's hooks), replaced when ``overwrite``."""
    present = {name.lower() for name in resp.headers.keys()}  # noqa: SIM118 - a Headers
    for name, value in items:
        if name.lower() not in present:
            resp.headers.add(name, value)
        elif overwrite:
            resp.headers[name] = value


def install(app: Flask) -> None:
    """The security headers and CORS on every response Flask answers, in one hook."""
    cors = cors_for(app.config)
    first, others = list(SECURITY[:1]), list(SECURITY[1:])

    @app.after_request
    def _common(resp: Response) -> Response:
        _put(resp, first, True)  # nosniff, whatever a view set
        _put(resp, others, False)  # a view's own CSP or Referrer-Policy wins
        if cors is not None:
            granted = cors.items(request.headers.get("Origin") if not cors.allow_any else None)
            if granted and granted[0][0] == "Vary":
                resp.vary.add("Origin")
                granted = granted[1:]
            _put(resp, granted, True)
        return resp
