"""Benchmark: ingestion and statistics on the embedded engine (DuckDB) against today's pandas path.

    python benchmarks/bench_data.py                       # 200k x 20 CSV: ingest+statistics, statistics alone
    python benchmarks/bench_data.py --rows 1000000        # the issue's 1M x 20 target
    python benchmarks/bench_data.py --scale 1000000,10000000,100000000   # Parquet: time and peak RSS per size
    python benchmarks/bench_data.py --training --rows 1000000            # cold `training` run vs a pandas script

Figures, each with its ratio against a baseline measured in the same run:

- ingest + statistics of a CSV of ``--rows`` x 20: ours (DuckDB splits into Parquet
  shards, statistics of the train split on DuckDB) against the pandas path the
  pipeline had before (pandas ``read_csv`` with the contract's checks, the pandas
  row hash, three ``to_csv`` splits, then the chunked Arrow statistics of the train CSV);
- statistics alone: today's chunked Arrow engine on the CSV against the DuckDB
  engine on the same rows as Parquet (quantiles from all rows) and as CSV;
- ``--scale``: ingest + split + statistics of Parquet shards, each size in a child
  process whose peak RSS is read with ``getrusage``;
- ``--training``: ``kfp-mlops run training`` on a CSV, cold, in a fresh
  KFP_MLOPS_HOME, against one process that reads the CSV with pandas, fits the same
  HistGradientBoosting model and scores it on a test split.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
COLUMNS = 20
CHUNK = 1_000_000


def _chunk(rows: int, seed: int) -> pa.Table:
    """``rows`` x 20: 14 floats, 3 ints, 2 low-cardinality strings and a binary label."""
    rng = np.random.default_rng(seed)
    data = {f"x{i}": rng.normal(size=rows).round(5) for i in range(14)}
    data.update({f"n{i}": rng.integers(0, 1000, rows) for i in range(3)})
    data.update({f"c{i}": rng.choice(np.array(["alpha", "beta", "gamma", "delta", "eps"]), rows) for i in range(2)})
    data["label"] = (data["x0"] + rng.normal(scale=0.5, size=rows) > 0).astype(np.int64)
    return pa.table(data)


def write_csv(path: Path, rows: int) -> Path:
    import pyarrow.csv as pacsv

    with pacsv.CSVWriter(str(path), _chunk(1, 0).schema) as writer:
        for start in range(0, rows, CHUNK):
            writer.write_table(_chunk(min(CHUNK, rows - start), start))
    return path


def write_parquet(folder: Path, rows: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for number, start in enumerate(range(0, rows, CHUNK)):
        pq.write_table(_chunk(min(CHUNK, rows - start), start), folder / f"part-{number:05d}.parquet")
    return folder


def timed(function, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def pandas_path(csv: Path, out: Path) -> None:
    """The pipeline's path before the engine: pandas read + contract, pandas hash split, CSV splits, CSV stats."""
    import pandas as pd

    from kfp_mlops.components.core.tables import read_checked
    from kfp_mlops.components.validation.statistics import compute_statistics

    frame, _ = read_checked(csv)
    frame = frame[frame["label"].notna()]
    hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy() % np.uint64(10_000) / 10_000.0
    splits = np.where(hashes < 0.7, "train", np.where(hashes < 0.85, "eval", "test"))
    for name in ("train", "eval", "test"):
        frame[splits == name].to_csv(out / f"{name}.csv", index=False)
    compute_statistics(out / "train.csv")


def engine_path(source: Path, out: Path) -> None:
    """Ours: the ingest task (DuckDB, Parquet splits), then statistics of the train split."""
    from kfp_mlops.components.data.ingest import ingest_csv
    from kfp_mlops.components.validation.statistics import compute_statistics

    ingest_csv(str(source), "label", {n: str(out / n) for n in ("train", "eval", "test")}, file_format="parquet")
    compute_statistics(out / "train")


def bench_ingest(rows: int, work: Path) -> None:
    from kfp_mlops.components.validation.statistics import compute_statistics
    from kfp_mlops.components.validation.table_statistics import table_statistics

    csv = write_csv(work / "data.csv", rows)
    parquet = write_parquet(work / "data.parquet.d", rows)
    print(f"{rows:,} rows x {COLUMNS} columns: CSV {csv.stat().st_size / 1e6:.0f} MB", flush=True)
    (work / "old").mkdir()
    (work / "new").mkdir()
    old, _ = timed(pandas_path, csv, work / "old")
    new, _ = timed(engine_path, csv, work / "new")
    print(f"ingest + statistics from CSV: pandas path {old:.2f} s, engine {new:.2f} s -> {old / new:.1f}x faster "
          "(target >= 5x)", flush=True)
    today, _ = timed(compute_statistics, csv)
    on_parquet, _ = timed(table_statistics, parquet)
    on_csv, _ = timed(table_statistics, csv)
    print(f"statistics alone: today's Arrow engine on CSV {today:.2f} s (median from a 100k-row sample); "
          f"DuckDB on Parquet {on_parquet:.2f} s ({today / on_parquet:.2f}x), on CSV {on_csv:.2f} s "
          f"({today / on_csv:.2f}x), quantiles from all rows", flush=True)


def child(source: str, out: str) -> None:
    """One scale point, in its own process: ingest + split + statistics of the train split."""
    start = time.perf_counter()
    engine_path(Path(source), Path(out))
    print(f"CHILD_SECONDS {time.perf_counter() - start:.2f}", flush=True)


def bench_scale(sizes: list[int], work: Path) -> None:
    previous = None
    for rows in sizes:
        folder = write_parquet(work / f"p{rows}", rows)
        out = work / f"o{rows}"
        out.mkdir()
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        done = subprocess.run([sys.executable, __file__, "--child", str(folder), str(out)], capture_output=True,
                              text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        seconds = next((float(line.split()[1]) for line in done.stdout.splitlines()
                        if line.startswith("CHILD_SECONDS")), float("nan"))
        if done.returncode:
            print(done.stdout[-2000:], done.stderr[-2000:])
        growth = f", x{seconds / previous[1]:.1f} time for x{rows / previous[0]:.0f} rows" if previous else ""
        note = "" if peak > before else " (peak not above an earlier child's)"
        print(f"Parquet {rows:,} x {COLUMNS}: ingest+split+statistics {seconds:.1f} s, "
              f"peak RSS {peak / 1024 / 1024:.2f} GB{note} (target < 2 GB){growth}", flush=True)
        previous = (rows, seconds)
        import shutil

        shutil.rmtree(folder)
        shutil.rmtree(out)


SCRIPT = """
import sys, time
import numpy as np, pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import balanced_accuracy_score
frame = pd.read_csv(sys.argv[1])
for name in frame.select_dtypes("object"):
    frame[name] = frame[name].astype("category")
hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy() % np.uint64(10_000) / 10_000.0
train, test = frame[hashes < 0.7], frame[hashes >= 0.85]
model = HistGradientBoostingClassifier(random_state=42, categorical_features="from_dtype")
model.fit(train.drop(columns="label"), train["label"])
print(balanced_accuracy_score(test["label"], model.predict(test.drop(columns="label"))))
"""


def bench_training(rows: int, work: Path) -> None:
    csv = write_csv(work / "data.csv", rows)
    env = {**os.environ, "PYTHONPATH": str(REPO), "KFP_MLOPS_HOME": str(work / "home")}
    script, _ = timed(subprocess.run, [sys.executable, "-c", SCRIPT, str(csv)], check=True, capture_output=True)
    command = [sys.executable, "-m", "kfp_mlops.pipelines.cli.main", "run", "training", "--data", str(csv),
               "--label", "label", "--estimator", "hist_gradient_boosting"]
    ours, done = timed(subprocess.run, command, env=env, capture_output=True, text=True)
    if done.returncode:
        print(done.stdout[-3000:], done.stderr[-3000:])
    steps = done.stdout[done.stdout.find("Steps ("):]
    print(steps[:steps.find("Finished in")].rstrip())  # the run's per-step timings
    print(f"cold `training` on {rows:,} rows: {ours:.1f} s; one-process pandas + sklearn script {script:.1f} s "
          f"-> {ours / script:.2f}x (target <= 1.5x)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--scale", help="comma-separated Parquet sizes for the memory and growth run")
    parser.add_argument("--training", action="store_true", help="the cold training run against a pandas script")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory(prefix="bench-data-") as folder:
        work = Path(folder)
        if args.scale:
            bench_scale([int(s) for s in args.scale.split(",")], work)
        elif args.training:
            bench_training(args.rows, work)
        else:
            bench_ingest(args.rows, work)


if __name__ == "__main__":
    main()
