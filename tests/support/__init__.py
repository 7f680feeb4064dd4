"""Helpers shared by the tests; nothing here is collected as a test.

``paths`` (the repository and test data), ``ci`` (``require``: skip locally, fail in CI),
``env`` (clearing RECOMMENDER_* variables), ``policy_models`` (small in-memory models for
the ranking-policy tests).
"""
