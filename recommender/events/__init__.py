"""Impression and click events: signed impression ids, storage, the buffered writer."""

from recommender.events.buffer import EventBuffer, RejectedBatch, close_all
from recommender.events.impressions import (
    Impression,
    ImpressionError,
    ImpressionSigner,
    load_or_create_secret,
)
from recommender.events.store import EventStore, EventStoreError, default_url, normalise_url

__all__ = [
    "EventBuffer", "EventStore", "EventStoreError", "Impression", "ImpressionError",
    "ImpressionSigner", "RejectedBatch", "close_all", "default_url", "load_or_create_secret",
    "normalise_url",
]
