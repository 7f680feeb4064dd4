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
# What `from recommender.api.gunicorn_config import *` (gunicorn.conf.py, the image) hands on:
# gunicorn's settings and hooks, nothing else.
__all__ = ["accesslog", "bind", "child_exit", "control_socket_disable", "errorlog",
           "graceful_timeout", "keepalive", "loglevel", "on_exit", "on_starting",
           "post_worker_init", "preload_app", "threads", "timeout", "when_ready",
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
# Logs to stdout/stderr for the container runtime to collect; gunicorn's access log only when
# RECOMMENDER_ACCESS_LOG asks for it (the app logs each request itself).
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


# -- metrics and logs (issue 12) -------------------------------------------------------------
# prometheus-client's multiprocess mode: every worker writes its figures under one directory
# and GET /metrics, answered by any worker, adds them up. It must be set before a worker
# imports prometheus_client; a fresh directory per master when the operator sets none.
_metrics_tmp = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    import sys
    import tempfile

    # tmpfs first, like the heartbeat files: a read-only root filesystem may have no /tmp.
    try:
        _metrics_tmp = tempfile.mkdtemp(prefix="recommender-metrics-", dir=worker_tmp_dir)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_tmp
    except OSError as _exc:
        print(f"recommender: no directory for multiprocess metrics ({_exc}); set "
              "PROMETHEUS_MULTIPROC_DIR to a writable directory, or /metrics shows only the "
              "worker that answers", file=sys.stderr)


def when_ready(server):  # noqa: ARG001 - gunicorn's hook signature
    """Figures of an earlier run in an operator-set directory would be added to this one's."""
    import glob

    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:  # no multiprocess metrics: nothing to wipe (and never the cwd's *.db)
        return
    for path in glob.glob(os.path.join(folder, "*.db")):
        os.unlink(path)


def child_exit(server, worker):  # noqa: ARG001 - gunicorn's hook signature
    """A dead worker's live gauges (pending events, served model) must not linger."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server):  # noqa: ARG001 - gunicorn's hook signature
    """Remove the metrics directory this master made (an operator's own is left alone)."""
    if _metrics_tmp is not None:
        import shutil

        shutil.rmtree(_metrics_tmp, ignore_errors=True)


def post_worker_init(worker):
    """gunicorn's own 4xx (line too long, bad headers) in the service's JSON error shape;
    the loaded app and model out of the garbage collector's sight."""
    from recommender.api.gcfreeze import freeze_after_loads
    from recommender.api.gunicorn_errors import install

    install()
    freeze_after_loads(worker.wsgi)
