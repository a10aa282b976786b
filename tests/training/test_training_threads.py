"""Thread budgets from cgroup files (fixtures for v2 and v1), the load, and threadpoolctl."""
from __future__ import annotations

import pytest

from kfp_mlops.components.core.threads import busy_cpus, cgroup_cpu_limit, cpu_budget, thread_budget


def _files(tmp_path, files: dict[str, str]):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


@pytest.mark.parametrize("files,proc,limit", [
    ({"cpu.max": "200000 100000\n"}, "0::/\n", 2.0),  # v2, Kubernetes limits.cpu: 2
    ({"cpu.max": "max 100000\n"}, "0::/\n", None),  # v2, no limit
    ({"cpu.max": "max 100000\n", "kubepods/pod1/cpu.max": "150000 100000\n"}, "0::/kubepods/pod1\n", 1.5),  # nested
    ({"kubepods/cpu.max": "50000 100000\n", "kubepods/pod1/cpu.max": "max 100000\n"}, "0::/kubepods/pod1\n", 0.5),
    ({"cpu/cpu.cfs_quota_us": "400000\n", "cpu/cpu.cfs_period_us": "100000\n"}, "1:cpu:/\n", 4.0),  # v1
    ({"cpu,cpuacct/cpu.cfs_quota_us": "-1\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"}, "1:cpu:/\n", None),
    ({}, "0::/\n", None),  # nothing readable
])
def test_cgroup_quota_from_v2_and_v1_files(tmp_path, files, proc, limit):
    root = _files(tmp_path / "cgroup", files) if files else tmp_path / "missing"
    proc_file = _files(tmp_path, {"proc_cgroup": proc}) / "proc_cgroup"
    assert cgroup_cpu_limit(root, proc_file) == limit


def test_budget_is_the_quota_rounded_up_never_more_than_the_cores(tmp_path, monkeypatch):
    monkeypatch.delenv("KFP_MLOPS_THREADS", raising=False)
    proc = _files(tmp_path, {"proc_cgroup": "0::/\n", "idle": "0.00 0.00 0.00 1/100 1\n", "busy": "9.0 8 7 12/100 1\n"})
    half = _files(tmp_path / "half", {"cpu.max": "50000 100000"})
    assert cpu_budget(half, proc / "proc_cgroup", proc / "idle") == 1
    many = _files(tmp_path / "many", {"cpu.max": "100000000 100000"})  # 1000 cores of quota: the machine caps it
    import os

    cores = len(os.sched_getaffinity(0))
    assert cpu_budget(many, proc / "proc_cgroup", proc / "idle") == cores
    unlimited = _files(tmp_path / "unlimited", {"cpu.max": "max 100000"})
    assert cpu_budget(unlimited, proc / "proc_cgroup", proc / "idle") == cores
    assert cpu_budget(unlimited, proc / "proc_cgroup", proc / "busy") == 1  # a busy node without a quota
    assert busy_cpus(proc / "busy") == 11.0 and busy_cpus(proc / "idle") == 0.0
    monkeypatch.setenv("KFP_MLOPS_THREADS", "3")
    assert cpu_budget(half, proc / "proc_cgroup", proc / "idle") == 3


def test_thread_budget_sizes_the_openmp_pools_and_restores_them():
    import sklearn.ensemble  # noqa: F401 - loads OpenMP
    from threadpoolctl import threadpool_info

    before = [pool["num_threads"] for pool in threadpool_info()]
    with thread_budget(1) as threads:
        assert threads == 1
        assert threadpool_info() and all(pool["num_threads"] == 1 for pool in threadpool_info())
    assert [pool["num_threads"] for pool in threadpool_info()] == before
