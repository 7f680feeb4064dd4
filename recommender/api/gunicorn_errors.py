"""The errors gunicorn answers itself (a request line or headers over its limits, a
malformed request) in the service's JSON error shape instead of gunicorn's HTML page.

gunicorn has no setting for this; every worker class sends them through
``gunicorn.util.write_error(sock, status, reason, message)``, which ``install()`` replaces
in each worker (the ``post_worker_init`` hook in ``gunicorn_config``).
"""

from __future__ import annotations

from typing import Any

import orjson

MAX_MESSAGE = 200  # the message may quote the oversized line itself


def write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    from gunicorn import util

    text = f"{reason}: {mesg}" if mesg else reason
    body = orjson.dumps({"error": {"code": status_int, "message": text[:MAX_MESSAGE]}})
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            "Content-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n"
            f"Cache-Control: no-store\r\nContent-Length: {len(body)}\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin-1") + body)


def install() -> None:
    from gunicorn import util

    util.write_error = write_json_error
