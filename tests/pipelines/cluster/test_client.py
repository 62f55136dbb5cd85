"""The Dask cluster a run asks for: parsed, opened, checked and closed, against a real LocalCluster and a real
`dask scheduler` with a worker on 127.0.0.1."""

from __future__ import annotations

import time

import pytest

from pipelines.cluster.client import check_versions, open_cluster
from pipelines.config import ClusterSpec, parse_cluster
from pipelines.errors import ConfigError
from tests.dask_cluster import free_port as _free_port

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("text", "workers", "expected"),
    [
        ("none", None, ClusterSpec("none")),
        ("local", 2, ClusterSpec("local", n_workers=2)),
        ("local-cuda", None, ClusterSpec("local-cuda")),
        ("tcp://10.0.0.5:8786", None, ClusterSpec("address", address="tcp://10.0.0.5:8786")),
    ],
)
def test_cluster_settings_parse(text, workers, expected):
    assert parse_cluster(text, workers) == expected


@pytest.mark.parametrize(
    ("text", "workers", "message"),
    [
        ("lokal", None, "expects none, local, local-cuda or a scheduler address"),
        ("tcp://", None, "expects none, local"),
        ("local", 0, "--n-workers must be 1 or more"),
        ("none", 2, "--n-workers needs --cluster local"),
        ("tcp://h:8786", 2, "has its own workers"),
    ],
)
def test_bad_cluster_settings_are_config_errors(text, workers, message):
    with pytest.raises(ConfigError, match=message):
        parse_cluster(text, workers)


def test_none_is_this_process():
    with open_cluster(parse_cluster("none")) as client:
        assert client is None


def test_a_local_cluster_runs_work_and_is_closed_on_the_way_out():
    with open_cluster(parse_cluster("local", 2)) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        assert client.submit(sum, [1, 2, 3]).result(timeout=30) == 6
        cluster = client.cluster
    assert client.status == "closed" and cluster.status.name == "closed"


def test_an_unreachable_scheduler_is_a_clear_error_within_the_timeout():
    address = f"tcp://127.0.0.1:{_free_port()}"
    expected = f"Could not reach the Dask scheduler at {address} within 3 s"
    with pytest.raises(ConfigError, match=expected), open_cluster(parse_cluster(address), timeout=3):
        pytest.fail("connected to nothing")


def test_a_running_scheduler_is_used_when_its_workers_match(scheduler):
    deadline = time.monotonic() + 60
    with open_cluster(parse_cluster(scheduler)) as client:
        while not client.scheduler_info()["workers"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert client.submit(max, [4, 9]).result(timeout=30) == 9
    assert client.status == "closed"


def test_workers_with_other_versions_are_listed():
    mine = {"host": {"python": "3.11.7.final.0"}, "packages": {"numpy": "2.4.6", "pandas": "3.0.6", "dask": "2026.8.0"}}
    other = {"host": {"python": "3.12.1.final.0"}, "packages": {**mine["packages"], "pandas": "2.3.3", "numpy": None}}
    versions = {"client": mine, "workers": {"tcp://a:1": mine, "tcp://b:1": other}}
    with pytest.raises(ConfigError, match=r"tcp://b:1: python 3.12.1.final.0 \(here 3.11.7.final.0\)") as error:
        check_versions(versions)
    assert "numpy None (here 2.4.6)" in str(error.value) and "pandas 2.3.3 (here 3.0.6)" in str(error.value)
    assert "tcp://a:1" not in str(error.value)
    check_versions({"client": mine, "workers": {"tcp://a:1": mine}})


def test_the_connect_timeout_is_dask_s_own_setting_and_a_bad_one_is_a_config_error():
    import dask

    from pipelines.config import RunConfig, check_cluster, connect_timeout

    with dask.config.set({"distributed.comm.timeouts.connect": "2m"}):
        assert connect_timeout() == 120.0
    with dask.config.set({"distributed.comm.timeouts.connect": "bogus"}):
        with pytest.raises(ConfigError, match="must be a duration such as 30s or 2m, found 'bogus'"):
            check_cluster(RunConfig(cluster="local"))
        check_cluster(RunConfig())  # no cluster: Dask's settings are not asked
