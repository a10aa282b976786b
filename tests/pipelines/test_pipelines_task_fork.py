"""Tasks forked from the run's zygote behave as fresh processes do; anything unusual runs as a fresh process."""
import contextlib
import json
import os
import signal
import sys
import threading
from pathlib import Path

import pytest
from kfp import dsl, local
from kfp.local import subprocess_task_handler

from kfp_mlops.pipelines.local_watchdog import Watchdog, _run_task, task_guard
from kfp_mlops.pipelines.task_failure import TaskFailure
from kfp_mlops.pipelines.task_fork import FORK_ENV, LIGHT_TASKS, SCRIPT, TaskForker, parse_command
from tests.pipelines.test_pipelines_local_progress import _alive, _wait_for

PRELOAD = ("kfp.dsl", "numpy", "READY")  # small, so the zygote is ready at once


@dsl.component(install_kfp_package=False)
def probe(out: str, code: int) -> str:
    """Records what a task sees of its process; raises or exits when asked."""
    import json
    import os
    import sys

    import numpy

    from kfp_mlops.components.core.errors import InputError

    grandparent = int(open(f"/proc/{os.getppid()}/stat").read().rsplit(")", 1)[1].split()[1])
    seen = {"cwd": os.getcwd(), "ppid": [os.getppid(), grandparent], "group": os.getpgid(0) in (os.getpid(), os.getppid()) and os.getsid(0) == os.getpgid(0),
            "argv0": os.path.basename(sys.argv[0]), "stdin": os.path.realpath("/proc/self/fd/0"),
            "probe": os.environ.get("KFP_MLOPS_PROBE"), "error_file": bool(os.environ.get("KFP_MLOPS_ERROR_FILE")),
            "runtime": os.environ.get("_KFP_RUNTIME"), "random": float(numpy.random.random()),
            "main": sys.modules["__main__"].__name__}
    with open(out, "a") as handle:
        handle.write(json.dumps(seen) + "\n")
    print("probe says hello")
    if code == 1:
        raise InputError("column 'weight (kg)' is missing from penguins.csv")
    if code:
        sys.exit(code)
    return "ok"


@contextlib.contextmanager
def _guarded(tmp_path: Path, fork: bool = True):
    """A local run's task guard, with its zygote ready; yields the guard and each task's exit code."""
    codes: list[int] = []
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root"),
               raise_on_error=False)
    errors = tmp_path / f"errors-{len(list(tmp_path.glob('errors-*')))}"
    errors.mkdir()
    with task_guard(errors, fork=fork, preload=PRELOAD) as guard:
        if guard.forker is not None:
            guard.forker.launch()  # as the first task that is not light would
            assert guard.forker.ready(timeout=60)
        patched = subprocess_task_handler.run_local_subprocess

        def recorded(full_command, env_vars=None):
            codes.append(patched(full_command, env_vars))
            return codes[-1]

        subprocess_task_handler.run_local_subprocess = recorded
        try:
            yield guard, codes, errors
        finally:
            subprocess_task_handler.run_local_subprocess = patched


def _run(tmp_path: Path, name: str, code: int = 0, fork: bool = True, env: str = "KFP_MLOPS_PROBE"):
    """Runs ``probe`` twice as local tasks; returns what it saw, its exit codes, failures and the zygote."""
    out = tmp_path / f"{name}.jsonl"

    @dsl.pipeline(name="probes")
    def probes(out: str, code: int):
        probe(out=out, code=code).set_env_variable(env, "x")

    with _guarded(tmp_path, fork) as (guard, codes, errors):
        for _ in range(2):
            probes(out=str(out), code=code)
    seen = [json.loads(line) for line in out.read_text().splitlines()]
    failures = [TaskFailure.read(path) for path in sorted(errors.glob("*.json"))]
    return seen, codes, failures, guard.forker


@pytest.mark.parametrize("code", [0, 1, 3])
def test_a_forked_task_sees_and_reports_what_a_fresh_one_does(tmp_path, capfd, code):
    forked, forked_codes, forked_failures, forker = _run(tmp_path, "forked", code)
    fresh, fresh_codes, fresh_failures, _ = _run(tmp_path, "fresh", code, fork=False)
    assert all(task.pop("ppid")[0] == forker.process.pid for task in forked)  # forked from the zygote
    assert all(os.getpid() in task.pop("ppid") for task in fresh)  # python under sh, under this process
    assert forked[0].pop("random") != forked[1].pop("random")  # numpy's generator reseeded in each child
    for task in fresh:
        task.pop("random")
    assert forked == fresh and forked[0]["probe"] == "x" and forked[0]["group"] is True
    assert forked[0]["stdin"] == "/dev/null" and forked[0]["main"] == "__main__"
    assert forked_codes == fresh_codes == [{0: 0, 1: 1, 3: 3}[code]] * 2
    assert forked_failures == fresh_failures
    if code == 1:
        assert forked_failures[0].input_error and "weight (kg)" in forked_failures[0].message
    assert capfd.readouterr().out.count("probe says hello") == 4  # the task's output reaches the run's log


def test_forking_is_off_with_the_environment_switch_or_another_environment(tmp_path, monkeypatch):
    # Another variable than KFP_MLOPS_*: a preloaded module might have read it at import, so a fresh process.
    seen, _, _, forker = _run(tmp_path, "other", env="OMP_NUM_THREADS")
    assert forker is not None and all(os.getpid() in task["ppid"] for task in seen)
    monkeypatch.setenv(FORK_ENV, "0")
    seen, _, _, forker = _run(tmp_path, "off")
    assert forker is None and all(os.getpid() in task["ppid"] for task in seen)


def test_a_command_other_than_kfps_script_runs_as_a_fresh_process(tmp_path, capfd):
    assert parse_command(["sh", "-ec", "echo hi", "source"]) is None
    watchdog, forker = Watchdog(), TaskForker(PRELOAD)
    try:
        forker.launch()
        assert forker.ready(timeout=60)
        assert _run_task(watchdog, ["sh", "-c", "echo parent $PPID; exit 4"], forker=forker) == 4
    finally:
        forker.close()
        watchdog.close()
    assert f"parent {os.getpid()}" in capfd.readouterr().out


@dsl.component(install_kfp_package=False)
def nap(pid_file: str, seconds: float):
    """Starts a child that sleeps too, writes both pids, sleeps."""
    import os
    import subprocess
    import sys
    import time

    child = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds})"])
    with open(pid_file + ".tmp", "w") as handle:
        handle.write(f"{os.getpid()} {child.pid}")
    os.replace(pid_file + ".tmp", pid_file)
    time.sleep(seconds)


def _napping(tmp_path: Path, seconds: float):
    """Starts ``nap`` as a local task on a thread; returns its pids and the thread."""
    pids = tmp_path / "pids"
    thread = threading.Thread(target=lambda: nap(pid_file=str(pids), seconds=seconds))
    thread.start()
    assert _wait_for(pids.exists, 60), "the task never started"
    task, grandchild = (int(p) for p in pids.read_text().split())
    return task, grandchild, thread


def test_a_killed_task_leaves_no_process_and_the_zygote_ends_with_the_run(tmp_path):
    with _guarded(tmp_path) as (guard, codes, _):
        task, grandchild, thread = _napping(tmp_path, 60.0)
        zygote = guard.forker.process.pid
        assert os.getppid() != task and _alive(task) and _alive(grandchild) and _alive(zygote)
        os.killpg(task, signal.SIGKILL)  # what the runner's cleanup does
        thread.join(30)
        assert codes == [-signal.SIGKILL]
        assert _wait_for(lambda: not _alive(task) and not _alive(grandchild), 30)
    assert not _alive(zygote) and not Path(guard.forker.path).parent.exists()


def test_a_zygote_that_dies_mid_task_fails_the_task_instead_of_hanging(tmp_path, capfd):
    with _guarded(tmp_path) as (guard, codes, _):
        task, _, thread = _napping(tmp_path, 1.0)
        os.kill(guard.forker.process.pid, signal.SIGKILL)
        thread.join(30)
        assert codes == [1] and _wait_for(lambda: not _alive(task), 10)
        assert "the task zygote ended before reporting" in capfd.readouterr().out
        assert not guard.forker.ready() and guard.forker.spawn(["sh", "-ec"], {}) is None  # the rest: fresh


def test_our_variables_are_read_when_used_so_a_forked_task_sees_its_own(monkeypatch):
    from kfp_mlops.components.core.engine import DuckDBEngine  # already imported, as in the zygote

    monkeypatch.setenv("KFP_MLOPS_DUCKDB_MEMORY", "256MB")
    with DuckDBEngine() as engine:
        assert engine.con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "244.1 MiB"


def test_light_tasks_run_fresh_and_the_zygote_starts_with_the_first_other_task():
    script = SCRIPT.format(python=sys.executable, module="kfp.dsl.executor_main")

    def command(function: str) -> list[str]:
        return ["sh", "-ec", script, "def f(): pass", "--executor_input", "{}", "--function_to_execute", function]

    launched: list[int] = []
    forker = TaskForker(PRELOAD, light=frozenset({"fingerprint_data"}), on_launch=launched.append)
    try:
        assert forker.spawn(command("fingerprint_data"), dict(os.environ)) is None  # fresh, and no zygote
        assert forker.process is None and launched == []
        assert forker.spawn(command("train_sklearn"), dict(os.environ)) is None  # starts it; not ready yet
        assert forker.process is not None and launched == [forker.process.pid]
        assert forker.ready(timeout=60)
    finally:
        forker.close()
    assert not _alive(launched[0])


def test_light_tasks_are_the_ones_whose_start_up_is_light():
    from tests.architecture.test_architecture_task_imports import ALLOWED

    light = {component.split(".")[1] for component, allowed in ALLOWED.items() if not allowed}
    assert LIGHT_TASKS <= light, f"not checked as light: {sorted(LIGHT_TASKS - light)}"
