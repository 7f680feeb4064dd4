"""``GET /openapi.json``: every endpoint, parameter, body and error shape, written by hand.

tests/test_openapi.py keeps it true: its paths and methods must equal ``app.url_map``'s, the
README's API table must name the same endpoints, and schemathesis fuzzes the app against it
(no 5xx, every response matching its schema).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from recommender.api.jsonresp import json_response

bp = Blueprint("openapi", __name__)

_ERROR = {"$ref": "#/components/schemas/Error"}
_NULLABLE_STR = {"type": ["string", "null"]}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "a parameter or the body is invalid (`field` names it)",
            401: "admin token missing or wrong", 404: "not found",
            413: "body or batch over its limit", 503: "no model yet, or the events buffer is "
            "full (with Retry-After)"}
    return {str(c): _json(_ERROR, text[c]) for c in codes}


def _text(mimetype: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {mimetype: {"schema": {"type": "string"}}}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


_LIST = {"type": "string", "description": "comma-separated; the parameter may repeat"}
_BOOL = {"type": "string", "description": "1/0, true/false, yes/no, on/off; empty: not given"}
RELATED_PARAMS = [
    _query("limit", {"type": "integer", "minimum": 1}, "items wanted, 1..MAX_LIMIT"),
    _query("section", _LIST, "only these sections"),
    _query("exclude_section", _LIST, "never these sections"),
    _query("exclude", _LIST, "never these article ids"),
    _query("same_language", _BOOL, "override the policy's same-language rule"),
    _query("max_age_days", {"type": "number"}, "nothing older (0 < days <= 36500)"),
    _query("since", {"type": "string"}, "nothing published before this ISO 8601 date"),
    _query("explain", _BOOL, "per-item shared terms and ranking steps"),
    _query("visitor", {"type": "string"}, "the A/B unit (a pseudonymous id)"),
    _query("variant", {"type": "string"}, "force an experiment variant (QA)"),
    _query("policy", {"type": "string"}, "a named ranking policy"),
]
HTML_PARAMS = RELATED_PARAMS + [
    _query("theme", {"type": "string", "enum": ["light", "dark", "auto"]}, "block colours"),
    _query("heading", {"type": "string", "maxLength": 120}, "the block's heading"),
    _query("css", _BOOL, "link widget.css (default 1)"),
    _query("frame", _BOOL, "a whole page for an iframe (default 0)"),
]
# What PUT/POST/DELETE /v1/articles answer once the change is published (README, Freshness).
FRESH_RESULT = {"type": "object", "required": ["version", "parent"]}

ARTICLE_ID = {"name": "article_id", "in": "path", "required": True,
              "schema": {"type": "string", "minLength": 1}}

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"], "properties": {
            "code": {"type": "integer"}, "message": {"type": "string"},
            "field": {"type": "string"}}}}},
    "Item": {"type": "object", "required": ["id", "title", "score", "source"], "properties": {
        "id": {"type": "string"}, "title": {"type": "string"}, "url": _NULLABLE_STR,
        "teaser": _NULLABLE_STR, "image": _NULLABLE_STR, "section": _NULLABLE_STR,
        "published_at": _NULLABLE_STR, "score": {"type": "number"},
        "source": {"type": "string", "enum": ["similar", "pinned", "section", "recent"]},
        "explain": {"type": "object"}}},
    "Related": {"type": "object",
                "required": ["article_id", "model_version", "impression_id", "items"],
                "properties": {
                    "article_id": _NULLABLE_STR, "model_version": {"type": "string"},
                    "impression_id": {"type": "string"}, "experiment": _NULLABLE_STR,
                    "variant": _NULLABLE_STR, "policy": {"type": ["object", "string", "null"]},
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}},
    "UnseenText": {"type": "object", "properties": {
        "title": {"type": "string"}, "body": {"type": "string"}, "teaser": {"type": "string"},
        "section": {"type": "string", "description": "the article's own section (a vector "
                    "field, as in training); to keep only some sections: filters.section"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "id": {"type": "string"}, "url": {"type": "string"},
        "language": {"type": "string"}, "published_at": {"type": "string"},
        "limit": {"type": "integer"}, "explain": {"type": ["boolean", "string"]},
        "visitor": {"type": "string"}, "variant": {"type": "string"},
        "policy": {"type": "string"},
        "filters": {"$ref": "#/components/schemas/Filters"}},
        "description": "the article's own fields (title or body required) and the options; "
                       "the filters only inside `filters` (a filter's name at the top level "
                       "is a 400 naming it)"},
    "Filters": {"type": "object", "additionalProperties": False, "properties": {
        "section": {"type": ["string", "array"], "items": {"type": "string"},
                    "description": "only these sections"},
        "exclude_section": {"type": ["string", "array"], "items": {"type": "string"},
                            "description": "never these sections"},
        "exclude": {"type": ["string", "array"], "items": {"type": "string"},
                    "description": "never these article ids"},
        "same_language": {"type": ["boolean", "string"]},
        "max_age_days": {"type": "number"}, "since": {"type": "string"}},
        "description": "the GET filters' names and values; an unknown key is a 400"},
    "Event": {"type": "object", "required": ["type", "impression_id", "article_id", "position",
                                             "ts"], "properties": {
        "type": {"type": "string", "enum": ["served", "viewed", "clicked"]},
        "impression_id": {"type": "string", "maxLength": 2048},
        "article_id": {"type": "string", "maxLength": 1024},
        "position": {"type": "integer", "minimum": 1}, "ts": {"type": "string"},
        "source_article_id": {"type": "string"}, "experiment": {"type": "string"},
        "variant": {"type": "string"}, "visitor": {"type": "string", "maxLength": 128}}},
    "Status": {"type": "object", "required": ["buffer"], "properties": {
        "buffer": {"type": "object", "properties": {
            k: {"type": "integer"} for k in ("pending", "written", "dropped", "failures",
                                             "retries", "spilled", "recovered", "capacity")}},
        "experiment": _NULLABLE_STR,
        "database": {"type": "string", "description": "admin only"},
        "experiments_error": {"type": ["string", "null"], "description": "admin only"}}},
}


def _paths() -> dict[str, Any]:
    related_ok = _json({"$ref": "#/components/schemas/Related"}, "the related list")
    return {
        "/": {"get": {"summary": "an index page linking to what the service offers",
                      "responses": {"200": _text("text/html", "page")}}},
        "/healthz": {"get": {"summary": "liveness", "responses": {"200": _json(
            {"type": "object", "required": ["status"]}, "the process is alive")}}},
        "/readyz": {"get": {"summary": "readiness", "responses": {"200": _json(
            {"type": "object", "required": ["status", "model_version"], "properties": {
                "status": {"const": "ready"}, "model_version": {"type": "string"},
                "warning": {"type": "string"}}}, "a model is loaded"), **_errors(503)}}},
        "/v1/articles/{article_id}/related": {"get": {
            "summary": "related articles of a known article", "parameters": [ARTICLE_ID,
                                                                             *RELATED_PARAMS],
            "responses": {"200": related_ok, "304": {"description": "If-None-Match matched"},
                          **_errors(400, 404, 503)}}},
        "/v1/articles/{article_id}/related.html": {"get": {
            "summary": "the list as an HTML block (frame=1: a page for iframes)",
            "parameters": [ARTICLE_ID, *HTML_PARAMS],
            "responses": {"200": _text("text/html", "escaped HTML; empty without items"),
                          "304": {"description": "If-None-Match matched"},
                          **_errors(400, 404, 503)}}},
        "/v1/related": {"post": {
            "summary": "related articles for text the model has not seen",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/UnseenText"}}}},
            "responses": {"200": related_ok, **_errors(400, 413, 503)}}},
        "/v1/model": {"get": {"summary": "the published and loaded model", "responses": {
            "200": _json({"type": "object", "required": ["published", "loaded", "manifest"]},
                         "versions and the manifest summary"), **_errors(503)}}},
        "/v1/events": {"post": {
            "summary": "viewed/clicked events from the widget (any Content-Type: sendBeacon "
                       "posts text/plain); all or nothing",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["events"], "properties": {"events": {
                    "type": "array", "items": {"$ref": "#/components/schemas/Event"}}}}}}},
            "responses": {"202": _json({"type": "object", "required": ["accepted"],
                                        "properties": {"accepted": {"type": "integer"}}},
                                       "every event of the batch is queued"),
                          **_errors(400, 413, 503)}}},
        "/v1/events/status": {"get": {"summary": "event buffer counts (details: admin)",
                                      "responses": {"200": _json(
                                          {"$ref": "#/components/schemas/Status"}, "counts")}}},
        "/v1/articles/{article_id}": {
            "put": {"summary": "add or change one article between retrains (admin)",
                    "security": [{"admin": []}], "parameters": [ARTICLE_ID],
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"type": "object", "description": "the corpus fields"}}}},
                    "responses": {"200": _json(FRESH_RESULT, "published"),
                                  **_errors(400, 401, 404, 503)}},
            "delete": {"summary": "take one article out of every list (admin)",
                       "security": [{"admin": []}], "parameters": [ARTICLE_ID],
                       "responses": {"200": _json(FRESH_RESULT, "published"),
                                     **_errors(401, 404, 503)}}},
        "/v1/articles": {"post": {
            "summary": "add or change a batch of articles between retrains (admin)",
            "security": [{"admin": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["articles"], "properties": {"articles": {
                    "type": "array", "items": {"type": "object"}}}}}}},
            "responses": {"200": _json(FRESH_RESULT, "published"),
                          **_errors(400, 401, 404, 413, 503)}}},
        "/v1/admin/reload": {"post": {
            "summary": "re-read the published pointer now (admin)",
            "security": [{"admin": []}],
            "responses": {"200": _json({"type": "object", "required": ["published", "loaded"]},
                                       "what the worker serves now"),
                          **_errors(401, 404, 503)}}},
        "/widget.js": {"get": {"summary": "the embeddable widget", "responses": {
            "200": _text("text/javascript", "script"), "304": {"description": "not modified"}}}},
        "/widget.css": {"get": {"summary": "the widget's styles", "responses": {
            "200": _text("text/css", "styles"), "304": {"description": "not modified"}}}},
        "/static/{filename}": {"get": {
            "summary": "static files of the widget and demo",
            "parameters": [{"name": "filename", "in": "path", "required": True,
                            "schema": {"type": "string", "minLength": 1}}],
            "responses": {"200": {"description": "the file"}, **_errors(404)}}},
        "/demo": {"get": {"summary": "a sample news site", "parameters": [
            _query("section", {"type": "string"}, "one section"),
            _query("page", {"type": "string"}, "page number")],
            "responses": {"200": _text("text/html", "page"), "503": _text("text/html",
                                                                           "no model yet")}}},
        "/demo/": {"get": {"summary": "the same as /demo", "responses": {
            "200": _text("text/html", "page"), "503": _text("text/html", "no model yet")}}},
        "/demo/articles/{article_id}": {"get": {
            "summary": "an article of the demo with the widget", "parameters": [ARTICLE_ID],
            "responses": {"200": _text("text/html", "page"), "404": _text("text/html",
                                                                           "unknown article"),
                          "503": _text("text/html", "no model yet")}}},
        "/demo/images/{section}.svg": {"get": {
            "summary": "a placeholder image per section",
            "parameters": [{"name": "section", "in": "path", "required": True,
                            "schema": {"type": "string", "minLength": 1}}],
            "responses": {"200": _text("image/svg+xml", "image"),
                          "404": _text("text/html", "not a section name")}}},
        "/metrics": {"get": {"summary": "Prometheus metrics, all workers", "responses": {
            "200": _text("text/plain", "exposition format")}}},
        "/openapi.json": {"get": {"summary": "this description", "responses": {
            "200": _json({"type": "object", "required": ["openapi", "paths"]},
                         "OpenAPI 3.1")}}},
    }


def description() -> dict[str, Any]:
    return {"openapi": "3.1.0",
            "info": {"title": "recommender", "version": "1",
                     "description": "Related-content service: related lists, the widget, "
                                    "A/B events. Every 4xx/5xx is the Error shape."},
            "paths": _paths(),
            "components": {"schemas": SCHEMAS, "securitySchemes": {"admin": {
                "type": "http", "scheme": "bearer",
                "description": "RECOMMENDER_ADMIN_TOKEN; unset: admin endpoints answer 404"}}}}


@bp.get("/openapi.json")
def openapi() -> Response:
    return json_response(description())
