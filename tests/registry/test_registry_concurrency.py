"""Registry concurrency: parallel writers in separate processes, and writers killed mid-write."""
from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from registry_models import make_model

from kfp_mlops.components.core.artifacts import sha256_tree
from kfp_mlops.components.registry import open_registry

WRITER = Path(__file__).with_name("registry_writer.py")


def _register(root: str, model_dir: str, barrier, results) -> None:
    registry = open_registry(root)
    barrier.wait()
    version = registry.register(model_dir, "iris", {"accuracy": 0.9})
    registry.promote("iris", version.version)
    results.put((model_dir, version.version))


def _assert_index_consistent(root: Path) -> dict:
    index = json.loads((root / "index.json").read_text())  # parses: never half-written
    for entry in index["models"].values():
        versions = [r["version"] for r in entry["versions"]]
        assert len(versions) == len(set(versions))
        for record in entry["versions"]:
            assert sha256_tree(root / record["path"]) == record["sha256"]
        assert set(entry["aliases"].values()) <= set(versions)
    return index


def test_parallel_writers_lose_nothing(tmp_path):
    models = [str(make_model(tmp_path / f"m{seed}", seed)) for seed in range(4)]
    jobs = models + models[:2]  # two models registered twice, at the same moment
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(len(jobs)), context.Queue()
    root = str(tmp_path / "registry")
    processes = [context.Process(target=_register, args=(root, job, barrier, results)) for job in jobs]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    outcome = [results.get(timeout=5) for _ in jobs]
    index = _assert_index_consistent(Path(root))
    by_model: dict[str, set[str]] = {}
    for model_dir, version in outcome:
        by_model.setdefault(model_dir, set()).add(version)
    assert all(len(v) == 1 for v in by_model.values())  # the duplicate registrations got the same version
    assert sorted(v.pop() for v in by_model.values()) == ["v1", "v2", "v3", "v4"]
    entry = index["models"]["iris"]
    assert len(entry["versions"]) == 4 and entry["aliases"]["champion"] in {"v1", "v2", "v3", "v4"}
    assert len(entry["champion_history"]) >= 1
    assert not [p for p in (Path(root) / "iris").iterdir() if p.name.startswith(".staging")]


def _start_writer(root: Path, model_dir: Path, stage: str) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, str(WRITER), str(root), str(model_dir), "iris", stage],
                               stdout=subprocess.PIPE, text=True)
    for line in process.stdout:  # the registry's progress lines come first
        if line.strip() == "PAUSED":
            return process
    raise AssertionError(f"the writer ended before pausing (exit code {process.wait()})")


def _kill(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)


def test_writer_killed_while_writing_the_index_leaves_the_previous_one(tmp_path):
    root = tmp_path / "registry"
    registry = open_registry(str(root))
    registry.register(str(make_model(tmp_path / "m0")), "iris")
    before = (root / "index.json").read_text()
    _kill(_start_writer(root, make_model(tmp_path / "m1", seed=1), "index"))
    assert (root / "index.json").read_text() == before  # the old, valid index
    assert [p.name for p in root.glob(".index.json.*.tmp")]  # its unfinished temporary file, ignored
    started = time.perf_counter()
    assert registry.register(str(tmp_path / "m1"), "iris").version == "v3"  # the lock died with the writer
    assert time.perf_counter() - started < 10
    _assert_index_consistent(root)


def test_writer_killed_after_placing_files_leaves_an_orphan_that_is_skipped(tmp_path):
    root = tmp_path / "registry"
    registry = open_registry(str(root))
    registry.register(str(make_model(tmp_path / "m0")), "iris")
    _kill(_start_writer(root, make_model(tmp_path / "m1", seed=1), "placed"))
    assert (root / "iris" / "v2").is_dir() and [v.version for v in registry.list("iris")] == ["v1"]
    assert registry.register(str(tmp_path / "m1"), "iris").version == "v3"
    _assert_index_consistent(root)


def test_writer_killed_at_random_moments_never_corrupts_the_index(tmp_path):
    root = tmp_path / "registry"
    registry = open_registry(str(root))
    registry.register(str(make_model(tmp_path / "m0")), "iris")
    second = make_model(tmp_path / "m1", seed=1)
    for delay in (0.05, 0.13, 0.21, 0.34):
        process = _start_writer(root, second, "loop")
        time.sleep(delay)
        _kill(process)
        index = _assert_index_consistent(root)
        assert index["models"]["iris"]["aliases"]["champion"] in {"v1", "v2"}
    assert registry.promote("iris", "v1").version == "v1"


def _churn(root: str, model_dirs: list[str], barrier, rounds: int) -> None:
    registry = open_registry(root)
    barrier.wait()
    for turn in range(rounds):
        version = registry.register(model_dirs[turn % len(model_dirs)], "iris")
        registry.promote("iris", version.version)
        registry.promote("iris", version.version, alias=f"seen-by-{os.getpid()}")


def test_many_writers_registering_and_promoting_for_a_while(tmp_path):
    models = [str(make_model(tmp_path / f"m{seed}", seed)) for seed in range(6)]
    context = multiprocessing.get_context("fork")
    barrier, root = context.Barrier(8), str(tmp_path / "registry")
    processes = [context.Process(target=_churn, args=(root, models[i % 3:] + models[:i % 3], barrier, 10))
                 for i in range(8)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(300)
        assert process.exitcode == 0
    index = _assert_index_consistent(Path(root))
    entry = index["models"]["iris"]
    assert len(entry["versions"]) == 6  # one version per distinct set of files
    assert sum(alias.startswith("seen-by-") for alias in entry["aliases"]) == 8  # no update was lost
    assert len(entry["champion_history"]) >= 6
