"""Thread budget benchmark: a HistGradientBoosting fit on 7k rows, unloaded and under two busy processes.

Each fit runs in a fresh process, so OpenMP starts as a task would:

- **default**: OpenMP's own choice (one thread per visible core);
- **budget**: :func:`kfp_mlops.components.core.threads.thread_budget` around
  the fit, as the trainer does (the cgroup quota, the affinity mask, and the
  CPUs other processes keep busy on a node without a quota).

The load is two processes spinning on the CPU. Printed: median fit seconds
(of ``--repeats``) for each setting, unloaded and loaded, and loaded/unloaded.
Target (issue 15): budget loaded <= 2x budget unloaded.

Run: ``python benchmarks/bench_threads.py [--rows 7000] [--repeats 3]``.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import time

FIT = """
import sys, time, numpy as np
import contextlib
from sklearn.ensemble import HistGradientBoostingClassifier
if sys.argv[1] == "budget":  # as the trainer does: after scikit-learn is imported, around the fit
    from kfp_mlops.components.core.threads import thread_budget
    budget = thread_budget()
else:
    budget = contextlib.nullcontext()
rng = np.random.default_rng(0)
rows = int(sys.argv[2])
X = rng.normal(size=(rows, 12)); X[:, :3] = rng.integers(0, 8, size=(rows, 3))
y = (X[:, 3] + X[:, 4] * (X[:, 0] > 3) + rng.normal(0, 0.5, rows) > 0).astype(int)
model = HistGradientBoostingClassifier(max_iter=100, categorical_features=[0, 1, 2], random_state=0,
                                       early_stopping=False)
with budget:
    start, cpu = time.perf_counter(), time.process_time()
    model.fit(X, y)
    print(time.perf_counter() - start, time.process_time() - cpu)
"""


def spin() -> None:  # pragma: no cover - a load generator
    while True:
        pass


def fit_seconds(setting: str, rows: int) -> tuple[float, float]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    out = subprocess.run([sys.executable, "-c", FIT, setting, str(rows)], capture_output=True, text=True, env=env,
                         check=True, timeout=600)
    wall, cpu = out.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def measure(rows: int, repeats: int) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) fit seconds of each setting, ``repeats`` fresh processes each, the settings interleaved."""
    times: dict[str, list[tuple[float, float]]] = {"default": [], "budget": []}
    for _ in range(repeats):
        for setting, seconds in times.items():
            seconds.append(fit_seconds(setting, rows))
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=7000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--busy", type=int, default=2, help="busy processes for the loaded runs")
    args = parser.parse_args(argv)
    print(f"cores {os.cpu_count()}, load average before {os.getloadavg()[0]:.1f}")
    unloaded = measure(args.rows, args.repeats)
    spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(args.busy)]
    for process in spinners:
        process.start()
    try:
        time.sleep(1.0)
        loaded = measure(args.rows, args.repeats)
    finally:
        for process in spinners:
            process.terminate()
    median = statistics.median
    print(f"HistGradientBoosting fit, {args.rows} rows x 12 columns, {args.repeats} fits each; "
          f"loaded = {args.busy} busy processes")
    print(f"{'threads':<10}{'unloaded s':>12}{'loaded s':>10}{'worst loaded s':>16}{'median ratio':>14}"
          f"{'worst ratio':>13}{'CPU s unloaded':>16}{'CPU s loaded':>14}")
    for setting in unloaded:
        base = median(wall for wall, _ in unloaded[setting])
        walls = [wall for wall, _ in loaded[setting]]
        print(f"{setting:<10}{base:>12.2f}{median(walls):>10.2f}{max(walls):>16.2f}"
              f"{median(walls) / base:>13.2f}x{max(walls) / base:>12.2f}x"
              f"{median(cpu for _, cpu in unloaded[setting]):>16.2f}{median(cpu for _, cpu in loaded[setting]):>14.2f}")
    base = median(wall for wall, _ in unloaded["budget"])
    worst = max(wall for wall, _ in loaded["budget"]) / base
    typical = median(wall for wall, _ in loaded["budget"]) / base
    print(f"target budget loaded never > 2x unloaded: {'met' if worst <= 2 else 'NOT met'} "
          f"(median {typical:.2f}x, worst {worst:.2f}x); budget vs default under load: "
          f"{median(w for w, _ in loaded['default']) / median(w for w, _ in loaded['budget']):.2f}x faster")
    share = min(1.0, (os.cpu_count() or 1) / (args.busy + 1))  # of a core, for one thread, when the scheduler is fair
    floor = median(cpu for _, cpu in loaded["budget"]) / share / base
    print(f"floor for any thread setting: the loaded fit's CPU seconds at a fair {share:.2f} of a core = "
          f"{floor:.2f}x the unloaded time")
    print("CPU s loaded ~ unloaded means no work is wasted on waiting threads: the rest of the loaded time is "
          f"the scheduler's share ({os.cpu_count()} cores, {args.busy} busy processes and the fit)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
