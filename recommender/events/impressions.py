"""Signed impression ids: verifiable by any worker or replica without a database lookup.

An id carries what was served (experiment, variant, source article, QA flag, time) and an
HMAC over it, keyed by a secret every replica shares. An event whose id was not issued by
this service, was altered, or is too old is refused on the request path, statelessly.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

_VERSION = 1
_SIG_BYTES = 16
SECRET_FILE = ".impression-secret"


class ImpressionError(ValueError):
    """An impression id that this service did not issue, or no longer accepts."""


@dataclass(frozen=True)
class Impression:
    experiment: str | None
    variant: str | None
    source_article_id: str | None
    forced: bool
    served_at: float  # epoch seconds
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class ImpressionSigner:
    """Signs with ``secret``; also accepts ids signed with ``previous`` keys, so a rotated
    secret does not refuse the events of impressions served just before the rotation."""

    def __init__(self, secret: bytes, previous: tuple[bytes, ...] = ()):
        if any(len(key) < 16 for key in (secret, *previous)):
            raise ValueError("the impression secret must be at least 16 bytes")
        self._key = secret
        self._keys = (secret, *previous)

    def _sign(self, body: bytes, key: bytes | None = None) -> bytes:
        mac = hmac.new(key or self._key, body, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:_SIG_BYTES]).rstrip(b"=")

    def issue(self, experiment: str | None, variant: str | None, source: str | None,
              forced: bool = False, served_at: float | None = None) -> str:
        stamp = int((time.time() if served_at is None else served_at) * 1000)
        body = _b64(orjson.dumps([_VERSION, experiment, variant, source, int(forced), stamp,
                                  secrets.token_hex(6)]))
        return f"{body}.{self._sign(body.encode('ascii')).decode('ascii')}"

    def verify(self, token: str, *, max_age: float, now: float | None = None) -> Impression:
        # Issued ids are ASCII; anything else cannot be ours (and must not reach encode()).
        if not token.isascii():
            raise ImpressionError("impression_id was not issued by this service "
                                  "(non-ASCII characters)")
        body, dot, sig = token.encode("ascii").partition(b".")
        # compare_digest on bytes: on str it raises TypeError for non-ASCII input.
        if not dot or not any(hmac.compare_digest(self._sign(body, key), sig)
                              for key in self._keys):
            raise ImpressionError("impression_id was not issued by this service")
        try:
            version, experiment, variant, source, forced, stamp, nonce = orjson.loads(
                _unb64(body.decode("ascii")))
        except (ValueError, TypeError):
            raise ImpressionError("impression_id is malformed") from None
        if version != _VERSION:
            raise ImpressionError(f"impression_id has unknown format {version!r}")
        served_at = stamp / 1000
        age = (time.time() if now is None else now) - served_at
        if age > max_age:
            raise ImpressionError(f"impression_id is {age:.0f} s old; events are accepted for "
                                  f"{max_age:.0f} s after serving")
        return Impression(experiment, variant, source, bool(forced), served_at, nonce)


def load_or_create_secret(directory: str | os.PathLike[str]) -> bytes:
    """A random key kept in ``directory`` so that every worker on this host shares it."""
    path = Path(directory) / SECRET_FILE
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{SECRET_FILE}.{secrets.token_hex(4)}")
    tmp.write_text(secrets.token_hex(32), encoding="ascii")
    os.chmod(tmp, 0o600)
    try:
        # link() fails if another worker won the race; everyone then reads the winner's key.
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return bytes.fromhex(path.read_text(encoding="ascii").strip())
