"""Tests for :mod:`imgclass.bulk.dask_backend` (the engine's Dask runs are in test_engine.py)."""

from __future__ import annotations

import logging
import socket

import pytest

from imgclass.bulk.dask_backend import dask_client, quiet_dask_logs

distributed = pytest.importorskip("distributed")


@pytest.mark.parametrize("target", [42, "", None])
def test_a_target_must_be_local_an_address_or_a_client(target: object) -> None:
    with pytest.raises(ValueError, match="dask must be"), dask_client(target):
        pass


def test_an_address_where_nothing_listens_is_a_clear_error() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    with (
        pytest.raises(ValueError, match=f"cannot reach the Dask scheduler at {address}"),
        dask_client(address, timeout="1s"),
    ):
        pass


def test_quiet_dask_logs_silences_info() -> None:
    quiet_dask_logs()
    assert not logging.getLogger("distributed.scheduler").isEnabledFor(logging.INFO)
    assert logging.getLogger("distributed").isEnabledFor(logging.WARNING)


def _twice(x: int) -> int:
    if x < 0:
        raise ValueError(f"negative: {x}")
    return 2 * x


def test_gathered_results_come_back_in_any_order_asked_and_errors_raise() -> None:
    from imgclass.bulk.dask_backend import GatheredResults

    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):
        gathered = GatheredResults()
        handles = [gathered.add(client.submit(_twice, x, pure=False)) for x in (3, -1, 5, 7)]
        assert handles[3].result() == 14  # asked for last: the others arrive and wait
        assert handles[0].result() == 6
        with pytest.raises(ValueError, match="negative: -1"):
            handles[1].result()
        assert handles[2].result() == 10
