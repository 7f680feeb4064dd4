"""gunicorn settings, each from a RECOMMENDER_* env var. Used by ``gunicorn.conf.py``,
``recommender serve`` and the Docker image, so all three run the same way.

The variables (RECOMMENDER_BIND, RECOMMENDER_WORKERS, RECOMMENDER_THREADS,
RECOMMENDER_TIMEOUT, RECOMMENDER_GRACEFUL_TIMEOUT, RECOMMENDER_KEEPALIVE,
RECOMMENDER_ACCESS_LOG) are declared in ``recommender.api.startup``; a bad value, like a bad
service setting (``on_starting`` below), stops the master with one line and exit status 2.
"""

import os
import sys

from recommender.api.startup import EXIT_CONFIG, check_service, gunicorn_settings
from recommender.settings import SettingsError

# What `from recommender.api.gunicorn_config import *` (gunicorn.conf.py) hands gunicorn.
__all__ = ["accesslog", "bind", "control_socket_disable", "errorlog", "graceful_timeout",
           "keepalive", "loglevel", "on_starting", "preload_app", "threads", "timeout",
           "worker_exit", "worker_tmp_dir", "workers"]


def _fail(exc: Exception) -> None:
    print(f"Error: {exc}", file=sys.stderr, flush=True)
    sys.exit(EXIT_CONFIG)


# One BLAS thread per worker: several workers each spawning a thread per core would
# oversubscribe the CPU on the rare request that multiplies matrices (POST /v1/related).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

try:
    _settings = gunicorn_settings()
except SettingsError as _exc:
    _fail(_exc)

# Loopback by default so a developer's laptop does not expose the service; the
# container sets 0.0.0.0:8000.
bind = _settings["bind"]
# Lookups are CPU-light; two workers per core (at most 8) covers I/O waits without thrashing.
workers = _settings["workers"]
# Threads let one worker answer while another request is blocked writing to a slow client.
threads = _settings["threads"]
# A related list should take milliseconds; 30 s only kills a truly stuck worker.
timeout = _settings["timeout"]
graceful_timeout = _settings["graceful_timeout"]
# Widgets on busy pages reuse connections through a proxy.
keepalive = _settings["keepalive"]
# No preload: each worker memory-maps the model, and the OS shares the pages anyway;
# loading in the master would pin the first model in every worker across swaps.
preload_app = False
# Heartbeat files on tmpfs: a container's overlay disk can stall them and get workers killed.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# Logs to stdout/stderr for the container runtime to collect.
accesslog = _settings["accesslog"]
errorlog = "-"
loglevel = os.environ.get("RECOMMENDER_LOG_LEVEL", "info").lower()
# gunicorn >= 25 opens a control socket under $HOME by default: unused here, and a
# non-root container user has no writable home, and several instances would share it.
control_socket_disable = True


def on_starting(server):  # noqa: ARG001 - gunicorn's hook signature
    """Check settings, policies and experiments in the master, before any worker forks:
    without preload every worker would fail alone, each with a traceback."""
    try:
        check_service()
    except SettingsError as exc:
        _fail(exc)


def worker_exit(server, worker):  # noqa: ARG001 - gunicorn's hook signature
    """Write buffered A/B events before a worker goes away (atexit is the backstop)."""
    from recommender.events.buffer import close_all

    close_all()
