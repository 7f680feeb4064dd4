"""The core's errors: plain exceptions the web layer maps to HTTP answers."""

from __future__ import annotations


class RequestError(Exception):
    """A request the core cannot answer: an HTTP-like status, a message, the field at fault."""

    def __init__(self, status: int, message: str, *, field: str | None = None):
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


class ModelUnavailable(RuntimeError):
    """No model can serve right now; the message says why (shown by /readyz)."""
