"""Promotion is compare-and-swap: parallel runs that compared with the same champion promote at most once,
and a challenger whose inputs differ from the champion's is never promoted automatically."""
from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest
from registry_models import make_model

from kfp_mlops.components.registry import PromotionError, open_registry
from kfp_mlops.components.registry.register import promote


def _promote_after_comparing(root: str, model_dir: str, pin: str, barrier, results) -> None:
    """One 'run': it compared with the champion ``pin``, registered its model, and now promotes."""
    registry = open_registry(root)
    version = registry.register(model_dir, "iris").version
    barrier.wait()
    try:
        results.put((version, promote(root, "iris", version, expected_champion=pin)))
    except PromotionError as error:
        results.put((version, str(error)))


def test_parallel_runs_that_compared_with_one_champion_promote_once(tmp_path):
    root = str(tmp_path / "registry")
    registry = open_registry(root)
    registry.promote("iris", registry.register(str(make_model(tmp_path / "m0")), "iris").version)
    pin = registry.pin("iris")  # every run compared with v1
    models = [str(make_model(tmp_path / f"m{seed}", seed)) for seed in range(1, 5)]
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(len(models)), context.Queue()
    processes = [context.Process(target=_promote_after_comparing, args=(root, m, pin, barrier, results))
                 for m in models]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    outcome = [results.get(timeout=5) for _ in models]
    winners = [version for version, said in outcome if said == version]
    assert len(winners) == 1  # before: whichever promoted last won
    refusals = [said for version, said in outcome if said != version]
    assert len(refusals) == 3 and all("champion is now" in s and "not v1 that this run compared with" in s
                                      for s in refusals)
    index = json.loads((Path(root) / "index.json").read_text())
    assert index["models"]["iris"]["aliases"]["champion"] == winners[0]
    assert index["models"]["iris"]["champion_history"] == ["v1", winners[0]]


def test_a_run_that_saw_no_champion_does_not_replace_one_promoted_since(tmp_path):
    root = str(tmp_path / "registry")
    registry = open_registry(root)
    first = registry.register(str(make_model(tmp_path / "m0")), "iris").version
    second = registry.register(str(make_model(tmp_path / "m1", 1)), "iris").version
    assert promote(root, "iris", first, expected_champion="") == first
    with pytest.raises(PromotionError, match="champion is now v1, not none"):
        promote(root, "iris", second, expected_champion="")
    assert promote(root, "iris", second) == second  # no expectation: unconditional, as 'models promote' does


def _with_features(tmp_path, name: str, drop: str = "", cast: str = "") -> Path:
    from kfp_mlops.components.core.model_io import load_contract, save_contract, write_manifest

    model_dir = make_model(tmp_path / name)
    contract = load_contract(model_dir)
    contract.features = [f for f in contract.features if f.name != drop]
    for feature in contract.features:
        if feature.name == cast:
            feature.dtype, feature.kind = "string", "categorical"
    save_contract(model_dir, contract)
    write_manifest(model_dir)  # the edited directory is a model of its own, with its own manifest
    return model_dir


@pytest.mark.parametrize("drop, cast, phrase", [
    ("petal_width", "", "removed feature 'petal_width'"),
    ("", "sepal_length", "feature 'sepal_length' changed from float numeric to string categorical"),
])
def test_a_breaking_change_is_not_promoted(tmp_path, drop, cast, phrase):
    root = str(tmp_path / "registry")
    registry = open_registry(root)
    registry.promote("iris", registry.register(str(make_model(tmp_path / "m0")), "iris").version)
    pin = registry.pin("iris")
    version = registry.register(str(_with_features(tmp_path, "new", drop, cast)), "iris").version
    with pytest.raises(PromotionError, match="breaking change against champion v1") as refused:
        promote(root, "iris", version, expected_champion=pin)
    assert phrase in str(refused.value) and f"kfp-mlops models promote iris {version}" in str(refused.value)
    assert registry.get("iris", "champion").version == "v1"
