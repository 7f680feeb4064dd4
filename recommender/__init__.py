"""recommender: related-content service for news sites and blogs."""

__version__ = "0.1.0"
