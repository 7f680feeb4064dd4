"""gunicorn settings, each from a RECOMMENDER_* env var. Used by ``gunicorn.conf.py``,
``recommender serve`` and the Docker image, so all three run the same way."""

import multiprocessing
import os

# One BLAS thread per worker: several workers each spawning a thread per core would
# oversubscribe the CPU on the rare request that multiplies matrices (POST /v1/related).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# Loopback by default so a developer's laptop does not expose the service; the
# container sets 0.0.0.0:8000.
bind = os.environ.get("RECOMMENDER_BIND", "127.0.0.1:8000")
# Lookups are CPU-light; two workers per core covers I/O waits without thrashing.
workers = int(os.environ.get("RECOMMENDER_WORKERS", min(2 * multiprocessing.cpu_count(), 8)))
# Threads let one worker answer while another request is blocked writing to a slow client.
threads = int(os.environ.get("RECOMMENDER_THREADS", "2"))
# A related list should take milliseconds; 30 s only kills a truly stuck worker.
timeout = int(os.environ.get("RECOMMENDER_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("RECOMMENDER_GRACEFUL_TIMEOUT", "20"))
# Widgets on busy pages reuse connections through a proxy.
keepalive = int(os.environ.get("RECOMMENDER_KEEPALIVE", "5"))
# No preload: each worker memory-maps the model, and the OS shares the pages anyway;
# loading in the master would pin the first model in every worker across swaps.
preload_app = False
# Heartbeat files on tmpfs: a container's overlay disk can stall them and get workers killed.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# Logs to stdout/stderr for the container runtime to collect.
accesslog = os.environ.get("RECOMMENDER_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("RECOMMENDER_LOG_LEVEL", "info").lower()
# gunicorn >= 25 opens a control socket under $HOME by default: unused here, and a
# non-root container user has no writable home, and several instances would share it.
control_socket_disable = True


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
# The app writes one JSON line per request (without query strings, which carry visitor ids);
# gunicorn's own access log stays available through RECOMMENDER_ACCESS_LOG.
if "RECOMMENDER_ACCESS_LOG" not in os.environ:
    accesslog = None  # type: ignore[assignment]


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


def post_worker_init(worker):  # noqa: ARG001 - gunicorn's hook signature
    """gunicorn's own 4xx (line too long, bad headers) in the service's JSON error shape."""
    from recommender.api.gunicorn_errors import install

    install()
