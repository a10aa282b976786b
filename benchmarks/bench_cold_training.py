"""Cold ``training`` on the penguins: the local pipeline against the same steps in one cold process.

- **pipeline**: ``run_training`` (what ``kfp-mlops run training --no-cache``
  runs) in a fresh interpreter and a fresh ``KFP_MLOPS_HOME``: each of its 12
  tasks is its own process, forked from the run's zygote once it is ready
  (``pipelines/task_zygote.py``); with ``--fresh``, also with forking off
  (``KFP_MLOPS_TASK_FORK=0``: every task a fresh interpreter, as on Vertex or Kubeflow);
- **one process**: the same 12 component functions (``python_func``, the very
  bodies the tasks run) called in order in one fresh interpreter, with local
  artifacts: every import is paid once.

Printed: both wall times and pipeline / one process (target: at most 1.5x).
Run: ``python benchmarks/bench_cold_training.py [--repeats 1] [--fresh]``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PIPELINE = """
import time
start = time.perf_counter()
from kfp_mlops.pipelines.training import run_training
run = run_training(model_name="bench", enable_caching=False, log_path="tasks.log")
assert run.succeeded, run.error
print("SECONDS", time.perf_counter() - start)
"""

ONE_PROCESS = """
import time
start = time.perf_counter()
from pathlib import Path
from kfp import dsl
from kfp_mlops.components.data.component import fingerprint_data, ingest_data
from kfp_mlops.components.core.tables import bundled_dataset_path
from kfp_mlops.components.deployment.component import deploy_local
from kfp_mlops.components.serving.component import infra_validate
from kfp_mlops.components.evaluation.component import evaluate_model
from kfp_mlops.components.registry.component import current_champion, promote_model, register_model
from kfp_mlops.components.training.component import train_sklearn
from kfp_mlops.components.validation.component import generate_statistics, infer_schema, validate_data

root = Path("one").resolve()
def art(cls, name):
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return cls(name=name, uri=str(path), metadata={})
data, registry, name = str(bundled_dataset_path()), str(Path("registry").resolve()), "bench"
fingerprint = fingerprint_data.python_func(data_path=data)
train, evaluation, test = art(dsl.Dataset, "train"), art(dsl.Dataset, "eval"), art(dsl.Dataset, "test")
label = ingest_data.python_func(data_path=data, label="species", train=train, eval=evaluation, test=test,
                                data_fingerprint=fingerprint)
stats, schema = art(dsl.Artifact, "statistics"), art(dsl.Artifact, "schema")
generate_statistics.python_func(dataset=train, statistics=stats)
infer_schema.python_func(statistics=stats, schema=schema, label=label)
assert validate_data.python_func(statistics=stats, schema=schema, anomalies=art(dsl.Artifact, "anomalies"),
                                 report=art(dsl.HTML, "report.html"), metrics=art(dsl.Metrics, "vmetrics"))
model = art(dsl.Model, "model")
train_sklearn.python_func(train=train, eval=evaluation, schema=schema, model=model, label=label)
champion = current_champion.python_func(registry_uri=registry, model_name=name)
metrics = art(dsl.Metrics, "metrics")
assert evaluate_model.python_func(model=model, test=test, train=train, label=label, metrics=metrics,
                                  classification_metrics=art(dsl.ClassificationMetrics, "cm"),
                                  report=art(dsl.Markdown, "report.md"),
                                  feature_attributions=art(dsl.Metrics, "attributions"),
                                  registry_uri=registry, model_name=name, champion=champion)
version = register_model.python_func(model=model, metrics=metrics, registry_uri=registry, model_name=name,
                                     dataset=train, schema=schema, statistics=stats, pipeline_run_id="bench")
assert infra_validate.python_func(model=model, examples=evaluation, label=label, report=art(dsl.Artifact, "infra"))
promoted = promote_model.python_func(registry_uri=registry, model_name=name, version=version,
                                     expected_champion=champion)
deploy_local.python_func(registry_uri=registry, model_name=name, version=promoted)
print("SECONDS", time.perf_counter() - start)
"""


def timed(code: str, **extra_env: str) -> float:
    """Runs ``code`` in a fresh interpreter with a fresh KFP_MLOPS_HOME; returns its SECONDS line."""
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "KFP_MLOPS_HOME": str(Path(folder) / "home"), **extra_env}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=folder,
                             timeout=900)
        if out.returncode != 0:
            raise SystemExit(f"run failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
        return float(out.stdout.split("SECONDS")[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="alternating runs of each; medians printed")
    parser.add_argument("--fresh", action="store_true", help="also the pipeline with forking off")
    args = parser.parse_args(argv)
    pipeline, single, fresh = [], [], []
    for _ in range(args.repeats):
        single.append(timed(ONE_PROCESS))
        pipeline.append(timed(PIPELINE))
        if args.fresh:
            fresh.append(timed(PIPELINE, KFP_MLOPS_TASK_FORK="0"))
    p, s = statistics.median(pipeline), statistics.median(single)
    print(f"load average {os.getloadavg()[0]:.1f}; medians of {args.repeats}")
    if fresh:
        print(f"cold pipeline, every task a fresh process:  {statistics.median(fresh):6.2f} s")
    print(f"cold pipeline (12 tasks, forked):           {p:6.2f} s")
    print(f"same 12 steps in one cold process:          {s:6.2f} s")
    print(f"pipeline / one process: {p / s:.2f}x (target <= 1.5x: {'met' if p / s <= 1.5 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
