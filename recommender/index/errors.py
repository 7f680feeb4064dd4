"""Errors of the index stage that the callers above it handle."""


class SchedulerError(RuntimeError):
    """The Dask scheduler cannot be reached or the distributed build failed."""
