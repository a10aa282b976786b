"""Caching follows the data's content, not its path (kfp.local, real runs)."""

import numpy as np
import pandas as pd
import pytest
from kfp import dsl

from kfp_mlops.pipelines import local_runner


def _write(path, seed: int, rows: int = 120) -> None:
    rng = np.random.default_rng(seed)
    pd.DataFrame({"x": rng.normal(size=rows).round(3), "y": rng.choice(["a", "b"], rows)}).to_csv(path, index=False)


def _ingest_and_import_pipeline():
    """The two ways pipelines read a path: ingestion, and an importer (batch prediction, monitoring)."""
    from kfp_mlops.components.data.component import fingerprint_data, ingest_data
    from kfp_mlops.components.validation.component import generate_statistics
    from kfp_mlops.pipelines.baseline import import_data

    @dsl.pipeline(name="content-cache")
    def content_cache(data_path: str, label: str):
        fingerprint = fingerprint_data(data_path=data_path).set_caching_options(False)
        ingest_data(data_path=data_path, label=label, data_fingerprint=fingerprint.output)
        generate_statistics(dataset=import_data(data_path, "rows").output)

    return content_cache


def test_new_content_at_the_same_path_reruns_and_unchanged_content_hits_the_cache(tmp_path, capfd):
    path = tmp_path / "data.csv"
    _write(path, seed=1)
    pipeline = _ingest_and_import_pipeline()

    def run():
        result = local_runner.run_pipeline(pipeline, {"data_path": str(path), "label": "y"},
                                           log_path=tmp_path / "log.txt")
        assert result.succeeded, result.error
        return result, capfd.readouterr().out

    first, _ = run()
    again, out = run()  # unchanged: both readers are cache hits
    assert "ingest-data: cached" in out and "generate-statistics: cached" in out
    assert again.tasks["ingest-data"]["train"].uri == first.tasks["ingest-data"]["train"].uri

    _write(path, seed=2)  # new content, same path
    changed, out = run()
    assert "ingest-data: cached" not in out and "generate-statistics: cached" not in out
    train = changed.tasks["ingest-data"]["train"]
    assert train.uri != first.tasks["ingest-data"]["train"].uri
    assert train.metadata["source_fingerprint"] == changed.tasks["fingerprint-data"]["Output"]
    fresh = pd.read_csv(path)
    assert set(map(tuple, pd.read_parquet(train.path).to_numpy())) <= set(map(tuple, fresh.to_numpy()))


@pytest.mark.slow
def test_training_on_overwritten_data_evaluates_the_model_trained_on_it(tmp_path, isolated_home, penguins_csv, capfd):
    from kfp_mlops.pipelines.cli.main import main

    args = ["run", "training", "--data", str(penguins_csv), "--label", "species", "--model-name", "penguins"]
    assert main(args) == 0
    capfd.readouterr()
    frame = pd.read_csv(penguins_csv)
    frame["species"] = frame["species"].sample(frac=1.0, random_state=3).to_numpy()  # labels shuffled
    frame.to_csv(penguins_csv, index=False)
    code = main(args)
    out = capfd.readouterr().out
    assert "ingest-data: ok" in out and "train-sklearn: ok" in out
    assert "train-sklearn: cached" not in out
    assert "Blessed: no" in out and code == 1  # the new model, trained on noise, is what was judged
    from kfp_mlops.components.registry import open_registry

    assert [v.version for v in open_registry(str(isolated_home / "registry")).list("penguins")] == ["v1"]


PATH_PARAMETERS = {"data_path", "training_data_path", "schema_path", "new_data_path", "serving_data"}


def _tasks(spec: dict):
    yield from spec["root"]["dag"]["tasks"].items()
    for component in spec["components"].values():
        yield from component.get("dag", {}).get("tasks", {}).items()


@pytest.mark.parametrize("target", ["vertex", "kfp"])
@pytest.mark.parametrize("name", ["training", "batch-prediction", "monitoring"])
def test_every_cached_step_that_reads_a_path_is_keyed_on_its_content(tmp_path, name, target):
    """A cached step fed a path must also be fed that path's fingerprint, on every target."""
    import yaml
    from kfp import compiler

    from kfp_mlops.pipelines.compiler import pipeline_factories

    # The variants that read the most paths: a curated schema; a training CSV as the drift baseline.
    options = {"training": {"import_schema": True}, "monitoring": {"training_data": True}}.get(name, {})
    path = tmp_path / f"{name}.yaml"
    compiler.Compiler().compile(pipeline_factories()[name](target=target, **options), str(path))
    spec = yaml.safe_load(path.read_text())
    fingerprinted = set()
    for task_name, task in _tasks(spec):
        parameters = task.get("inputs", {}).get("parameters", {})
        paths = {v.get("componentInputParameter", "").removeprefix("pipelinechannel--") for v in parameters.values()}
        reads = paths & PATH_PARAMETERS
        if not reads or not task.get("cachingOptions", {}).get("enableCache"):
            continue
        producers = {v.get("taskOutputParameter", {}).get("producerTask", "") for v in parameters.values()}
        producers |= {v.get("componentInputParameter", "").removeprefix("pipelinechannel--")
                      for v in parameters.values()}
        assert any(p.startswith("fingerprint-data") for p in producers), (
            f"{name}/{target}: cached task {task_name!r} reads {sorted(reads)} with no content fingerprint")
        fingerprinted |= reads
    fingerprint_tasks = [t for n, t in _tasks(spec) if n.startswith("fingerprint-data")]
    assert fingerprint_tasks and all(not t["cachingOptions"].get("enableCache") for t in fingerprint_tasks)
    assert fingerprinted, "no cached reader found: the test would prove nothing"
