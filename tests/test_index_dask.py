"""The distributed candidate search against a real local Dask cluster: a scheduler and two
worker processes on loopback, started here; lists must equal the local build's."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from recommender import index
from tests.support.ci import require

HAVE_DASK = importlib.util.find_spec("distributed") is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)  # reaped, or the Popen warns that it still runs


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    require(HAVE_DASK, "dask[distributed] is not installed (pip install -e '.[dev]')")
    from dask.distributed import Client

    address = f"tcp://127.0.0.1:{_free_port()}"
    procs = [subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", address.rsplit(":", 1)[1], "--no-dashboard"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(2):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads",
                 "1", "--host", "127.0.0.1", "--no-dashboard", "--no-nanny"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        ready = False
        deadline = time.monotonic() + 120
        while not ready and time.monotonic() < deadline:
            try:
                with Client(address, timeout=5) as client:
                    client.wait_for_workers(2, timeout=max(1.0, deadline - time.monotonic()))
                    ready = True
            except (OSError, TimeoutError):
                time.sleep(0.5)
        require(ready, f"could not start a local Dask cluster at {address}")
        yield address
    finally:
        _stop(procs)


@pytest.fixture(scope="module")
def matrix() -> sp.csr_matrix:
    X = sp.random(900, 400, density=0.03, format="csr", random_state=5, dtype=np.float32)
    X.data = np.ceil(X.data * 4)  # repeated values: ties the order must break the same way
    return sp.csr_matrix(normalize(X), dtype=np.float32)


@pytest.mark.parametrize("method", ["exact", "pruned"])
def test_cluster_lists_equal_the_local_build(scheduler, matrix, method):
    mask = np.arange(matrix.shape[0]) % 7 != 0
    opts = {"df_cut": 12, "block_rows": 128} if method == "pruned" else {}
    cells = 64_000  # several blocks, spread over both workers
    local = index.build_candidates(matrix, 20, method=method, candidates_mask=mask,
                                   max_block_cells=cells, **opts)
    seen: list[int] = []
    remote = index.build_candidates(matrix, 20, method=method, candidates_mask=mask,
                                    max_block_cells=cells, scheduler=scheduler,
                                    progress=lambda done, total: seen.append(done), **opts)
    assert np.array_equal(local[0], remote[0])
    assert np.array_equal(local[1], remote[1])
    assert (local[0] >= 0).sum() > 0.9 * local[0].size
    assert seen and seen[-1] == matrix.shape[0] and len(seen) > 1


def test_unreachable_scheduler_is_a_clear_error(matrix):
    require(HAVE_DASK, "dask[distributed] is not installed")
    with pytest.raises(index.SchedulerError, match="cannot reach the Dask scheduler"):
        index.build_candidates(matrix, 5, scheduler=f"tcp://127.0.0.1:{_free_port()}")
