"""Which Prefect server a run records to, and what happens to it when the run ends or is killed: the temporary
server of a run (a fresh Prefect home), a server left running by `devicepipe server start`, and a real server
configured in a Prefect profile, on which a run killed with SIGKILL is marked Crashed."""

from __future__ import annotations

import itertools
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.browser import chromium, open_page
from tests.conftest import ROOT, write_table
from tests.dask_cluster import free_port
from tests.prefect_server import prefect_server

TASKS = ["select-backend", "cache-lookup", "load", "split", "features", "cache-store", "handoff", "baselines"]
TASKS += ["train", "write-run"]


def _env(home: Path, **settings: str) -> dict[str, str]:
    """The environment of a fresh machine: no PREFECT_API_URL, Prefect's home and the temporary folder in `home`."""
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PREFECT_HOME": str(home), "TMPDIR": str(home / "tmp"), **settings}
    env.pop("PREFECT_API_URL", None)
    return env


def _devicepipe(*args: str, env: dict, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "flows.cli", *args]
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _run_args(table: Path, epochs: int = 1) -> list[str]:
    return ["run", "--data", str(table), "--target", "y", "--model", "xgboost", "--epochs", str(epochs)]


def _descendants(pid: int) -> list[int]:
    """Every process below `pid`, from /proc (Linux)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += [int(child), *_descendants(int(child))]
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _wait(predicate, seconds: float, what: str):
    """`predicate()`'s first true value within `seconds`. A request that fails or times out (a server slow to answer
    on a busy machine: urllib's timeout is an OSError too) counts as "not yet" and is asked again."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            result = predicate()
        except OSError:
            result = None
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def _api(url: str, path: str, body: dict | None = None):
    request = urllib.request.Request(
        f"{url}{path}",
        data=None if body is None else json.dumps(body).encode(),
        method="GET" if body is None else "POST",
    )
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def _flow_runs(url: str) -> list[dict]:
    return _api(url, "/flow_runs/filter", {"limit": 50})


def _healthy(url: str) -> bool:
    try:
        return _api(url, "/health") is True
    except OSError:
        return False


def _start_in_the_background(tmp_path: Path, env: dict) -> subprocess.Popen:
    """`devicepipe run` on a table large enough that it is still training when it is killed, once its flow runs."""
    table = write_table(tmp_path / "big.csv", 20_000)
    args = [*_run_args(table, epochs=30), "--no-progress", "--output", "runs"]
    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "run.log", "w"),
    )


def _wait_for_the_flow(process: subprocess.Popen, tmp_path: Path) -> None:
    def flow_running() -> bool:
        assert process.poll() is None, (tmp_path / "run.log").read_text()[-3000:]
        return bool(list(tmp_path.glob("runs/.incomplete-*")))

    _wait(flow_running, 300, "the flow to begin")


@pytest.mark.slow
def test_a_run_records_flow_tasks_and_artifact_on_its_temporary_server_and_stops_it(tmp_path):
    home = tmp_path / "prefect-home"
    table = write_table(tmp_path / "t.csv", 2000)
    result = _devicepipe(*_run_args(table), "--no-progress", env=_env(home), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Prefect server: a temporary one for this run at http://127.0.0.1:" in result.stderr
    assert "View at" not in result.stderr  # it serves no UI
    port = int(result.stderr.split("http://127.0.0.1:", 1)[1].split("/", 1)[0])
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, "the temporary server still listens after the run"
    assert not list((home / "tmp").glob("devicepipe-prefect-server-*"))  # its log went with it
    db = sqlite3.connect(f"file:{home / 'prefect.db'}?mode=ro", uri=True)
    ((run_id, state),) = db.execute("select id, state_type from flow_run")
    assert state == "COMPLETED"
    query = "select id, name, state_type, tags, task_inputs from task_run where flow_run_id = ? order by start_time"
    tasks = db.execute(query, (run_id,)).fetchall()
    assert [(name, s) for _, name, s, _, _ in tasks] == [(name, "COMPLETED") for name in TASKS]  # as the stages read
    # The graph is the chain the stages are: each task's one upstream is the task before it, whatever it takes
    # from earlier ones (the backend, the recipe), and each is tagged with the backend that ran it.
    for (before, *_), (_, name, _, tags, inputs) in itertools.pairwise(tasks):
        upstream = {ref["id"] for refs in json.loads(inputs).values() for ref in refs}
        assert upstream == {before}, (name, inputs)
        assert "cpu" in json.loads(tags) and "gpu" not in json.loads(tags), name
    artifacts = db.execute("select key from artifact where flow_run_id = ?", (run_id,)).fetchall()
    assert sorted(artifacts) == [("train-metrics",), ("train-report",), ("train-test-metrics",)]
    ((name,),) = db.execute("select name from flow_run where id = ?", (run_id,))
    assert (tmp_path / "runs" / name / "manifest.json").exists()  # the flow run is named after its run directory


@pytest.mark.slow
def test_a_run_killed_with_sigkill_takes_its_temporary_server_down(tmp_path):
    if not Path("/proc/self/task").exists():
        pytest.skip("needs /proc (Linux) to find the run's processes")
    home = tmp_path / "prefect-home"
    process = _start_in_the_background(tmp_path, _env(home))
    try:
        _wait_for_the_flow(process, tmp_path)
        below = _descendants(process.pid)
        assert below, "the run has no server process"
    finally:
        process.kill()  # SIGKILL: no exit hook of the run runs
        process.wait()
    _wait(lambda: not [pid for pid in below if _alive(pid)], 30, "the server to end")
    assert not list((home / "tmp").glob("devicepipe-prefect-server-*"))  # its log went with it


@pytest.fixture
def real_server(tmp_path_factory):
    """`prefect server start` on a free port with its own Prefect home; yields (api url, home)."""
    home = tmp_path_factory.mktemp("server-home")
    with prefect_server(home, _env(home)) as (_, url):
        yield url, home


@pytest.mark.slow
def test_a_run_killed_with_sigkill_is_marked_crashed_on_a_real_server(tmp_path, real_server):
    """PREFECT_API_URL from a Prefect profile; heartbeats every 30 s (Prefect's least), so the run counts as dead
    after 90 s without one."""
    url, _ = real_server
    profiles = tmp_path / "profiles.toml"
    profiles.write_text(f'active = "remote"\n\n[profiles.remote]\nPREFECT_API_URL = "{url}"\n')
    env = _env(tmp_path / "client-home", PREFECT_PROFILES_PATH=str(profiles), PREFECT_FLOWS_HEARTBEAT_FREQUENCY="30")
    process = _start_in_the_background(tmp_path, env)
    try:
        _wait_for_the_flow(process, tmp_path)
        (run,) = _wait(lambda: _flow_runs(url), 60, "the flow run on the server")
        assert run["state_type"] == "RUNNING"
    finally:
        process.kill()
        process.wait()

    def crashed() -> bool:
        (now,) = _flow_runs(url)
        return now["state_type"] == "CRASHED"

    _wait(crashed, 180, "the killed run to be marked Crashed")
    assert f"Prefect server: {url} (PREFECT_API_URL)" in (tmp_path / "run.log").read_text()


@pytest.mark.slow
def test_a_server_started_in_the_background_serves_the_runs_after(tmp_path):
    home, port = tmp_path / "prefect-home", free_port()
    env = _env(home, PREFECT_SERVER_API_PORT=str(port))
    url = f"http://127.0.0.1:{port}/api"
    started = _devicepipe("server", "start", env=env, cwd=tmp_path)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert f"running in the background at {url}" in started.stdout and _healthy(url)
        status = _devicepipe("server", "status", env=env, cwd=tmp_path)
        assert f"Prefect server: {url}, running in the background" in status.stdout
        table = write_table(tmp_path / "t.csv", 2000)
        result = _devicepipe(*_run_args(table), "--no-progress", env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
        assert f"Prefect server: {url}, running in the background" in result.stderr
        (run,) = _wait(lambda: _flow_runs(url), 60, "the flow run on the server")
        assert run["state_type"] == "COMPLETED"
        _shown_in_prefect_ui(url, tmp_path / "runs")
        # trigger asks that server (nothing served there yet: one line, exit 2), not a temporary one of its own
        triggered = _devicepipe("trigger", "train", env=env, cwd=tmp_path)
        assert triggered.returncode == 2 and "Traceback" not in triggered.stderr, triggered.stderr[-3000:]
        assert triggered.stderr.strip() == (
            f"error: The Prefect server at {url} has no deployment 'train/train'. `devicepipe serve` serves "
            "train/train and score/score and tune/tune; `prefect deployment ls` lists what the server has."
        )
    finally:
        stopped = _devicepipe("server", "stop", env=env, cwd=tmp_path)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    _wait(lambda: not _healthy(url), 30, "the background server to stop")
    status = _devicepipe("server", "status", env=env, cwd=tmp_path)
    assert "each run starts a temporary one" in status.stdout


def _shown_in_prefect_ui(url: str, runs: Path) -> None:
    """The run's page in Prefect's UI (headless chromium): named after its run directory, tagged, its stages in
    order; its metrics table artifact with the trivial baseline."""
    if chromium() is None:
        return  # the run and its server are checked above; the page needs Debian's chromium
    manifest = json.loads((runs / "latest" / "manifest.json").read_text())
    name, page_url = manifest["run"], manifest["prefect"]["flow_run"]["url"]
    page = open_page(page_url, until=(name, "write-run"), timeout=90)
    text = page.text
    assert name in text and "backend:cpu" in text and "dataset:table" in text, text[:2000]
    assert "Completed" in text and text.index("cache-lookup") < text.index("baselines") < text.index("write-run")
    request = urllib.request.Request(
        f"{url}/artifacts/filter",
        data=json.dumps({"artifacts": {"key": {"any_": ["train-test-metrics"]}}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        (artifact,) = json.load(response)
    table = open_page(f"{url[: -len('/api')]}/artifacts/artifact/{artifact['id']}", until=("trivial baseline",))
    assert "trivial baseline" in table.text and name in table.text, table.text[:2000]


def test_the_pid_file_is_prefects():
    from prefect.cli._server_utils import SERVER_PID_FILE_NAME

    from flows.server.selection import PID_FILE

    assert PID_FILE == SERVER_PID_FILE_NAME


@pytest.mark.slow
def test_a_temporary_server_that_cannot_start_is_a_clear_error(tmp_path):
    """Its database cannot be created (a folder that does not exist): exit 2 with the server's own words, no
    traceback, nothing written."""
    table = write_table(tmp_path / "t.csv", 200)
    nowhere = f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'folder' / 'prefect.db'}"
    env = _env(tmp_path / "prefect-home", PREFECT_SERVER_DATABASE_CONNECTION_URL=nowhere)
    result = _devicepipe(*_run_args(table), "--no-progress", env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "Fatal Python error" not in result.stderr
    assert "The temporary Prefect server for this run ended before it answered" in result.stderr
    assert "unable to open database file" in result.stderr
    assert "PREFECT_HOME is writable" in result.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("option", "message"),
    [(["--epochs", "0"], "--epochs must be at least 1"), (["--cluster", "lokal"], "expects none, local")],
)
def test_a_bad_setting_is_refused_before_a_server_starts_or_torch_is_imported(tmp_path, option, message):
    """Settings wrong whatever the data are answered by RunConfig.check, before the Prefect server and the heavy
    imports: the run's marks show no server spawned, and its Python never loaded torch."""
    marks = tmp_path / "marks.jsonl"
    env = _env(tmp_path / "home", DEVICEPIPE_FIXED_COST_LOG=str(marks), PYTHONVERBOSE="1")
    result = _devicepipe("run", *option, env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 2 and message in result.stderr, result.stderr[-2000:]
    names = [json.loads(line)["mark"] for line in marks.read_text().splitlines()]
    assert "run" in names and "server-spawned" not in names, names
    assert "import 'torch'" not in result.stderr and "import 'pandas'" not in result.stderr
