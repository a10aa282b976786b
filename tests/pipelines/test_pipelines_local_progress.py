"""Local runs: elapsed times, heartbeats, display names, one log file per run, no orphan tasks."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kfp_mlops.pipelines import local_runner
from tests.pipelines.sleeper_pipeline import sleeper

HERE = Path(__file__).resolve().parent


def test_steps_show_display_names_elapsed_time_heartbeat_and_a_timing_table(tmp_path, capfd):
    run = local_runner.run_pipeline(sleeper, {"pid_file": str(tmp_path / "pids"), "seconds": 1.5},
                                    root=tmp_path / "root", enable_caching=False, log_path=tmp_path / "r.log",
                                    heartbeat_s=0.3)
    assert run.succeeded, run.error
    out = capfd.readouterr().out
    assert "  - Sleep a while (sleep-then-finish): running" in out
    assert "  - Sleep a while (sleep-then-finish): still running, " in out
    assert "  - Sleep a while (sleep-then-finish): ok in " in out
    [step] = run.steps
    assert (step.task, step.display_name, step.status) == ("sleep-then-finish", "Sleep a while", "ok")
    assert step.seconds >= 1.5
    # The timing table ends the console output and the log.
    assert "Steps (1, " in out and "Sleep a while (sleep-then-finish)  ok" in out
    assert "Sleep a while (sleep-then-finish)  ok" in Path(run.log_path).read_text()
    # A JSON record of the run, for `kfp-mlops ui` and `kfp-mlops report`.
    record = json.loads(Path(run.record_path).read_text())
    assert record["run"] == run.run_name and run.run_name.startswith("sleeper-")
    assert record["succeeded"] is True and record["parameters"]["seconds"] == 1.5
    assert record["steps"][0]["display_name"] == "Sleep a while"
    assert record["outputs"]["sleep-then-finish"]["Output"] == "done"


def test_runs_started_with_the_same_log_name_get_their_own_files(tmp_path):
    paths = {local_runner.claim_log_file(tmp_path / "logs" / "training-20260101-120000.log") for _ in range(4)}
    assert len(paths) == 4
    assert sorted(p.name for p in paths) == ["training-20260101-120000-2.log", "training-20260101-120000-3.log",
                                             "training-20260101-120000-4.log", "training-20260101-120000.log"]


def test_parallel_runs_with_one_log_name_write_separate_logs(tmp_path):
    log = tmp_path / "same.log"
    first = local_runner.run_pipeline(sleeper, {"pid_file": str(tmp_path / "a"), "seconds": 0.0},
                                      root=tmp_path / "root", enable_caching=False, progress=False, log_path=log)
    second = local_runner.run_pipeline(sleeper, {"pid_file": str(tmp_path / "b"), "seconds": 0.0},
                                       root=tmp_path / "root", enable_caching=False, progress=False, log_path=log)
    assert first.log_path != second.log_path
    assert str(tmp_path / "a") in Path(first.log_path).read_text()
    assert str(tmp_path / "b") not in Path(first.log_path).read_text()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited: only its parent has not reaped it yet.
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


def _wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_killing_the_driver_ends_its_task_processes(tmp_path, signum):
    pid_file = tmp_path / "pids"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parents[2]), os.environ.get("PYTHONPATH", "")])}
    driver = subprocess.Popen([sys.executable, str(HERE / "sleeper_pipeline.py"), str(tmp_path), str(pid_file), "120"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_for(pid_file.exists, 120), "the task never started"
        task, grandchild = (int(p) for p in pid_file.read_text().split())
        assert _alive(task) and _alive(grandchild)
        helpers = [int(p) for p in Path(f"/proc/{driver.pid}/task/{driver.pid}/children").read_text().split()]
        driver.send_signal(signum)
        driver.wait(timeout=30)
        assert _wait_for(lambda: not _alive(task) and not _alive(grandchild), 30), "task processes outlived the driver"
        # The watchdog, the task zygote and any task started as a fresh process end too.
        assert _wait_for(lambda: not any(_alive(pid) for pid in helpers), 30), "helpers outlived the driver"
    finally:
        if driver.poll() is None:
            driver.kill()
