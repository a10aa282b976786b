"""A damaged registry index: one line that names the file, never a traceback, in every entry point."""
from __future__ import annotations

import pytest
from registry_models import make_model

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.registry import open_registry
from kfp_mlops.pipelines.cli.main import main

DAMAGE = {"empty object": "{}", "list": "[]", "not json": "{models: ", "bad entry": '{"models": {"iris": 3}}',
          "bad version": '{"models": {"iris": {"versions": [{"version": "v1"}], "aliases": {}}}}'}


@pytest.fixture(params=sorted(DAMAGE))
def damaged(request, tmp_path, isolated_home):
    root = isolated_home / "registry"
    registry = open_registry(str(root))
    registry.register(str(make_model(tmp_path / "m")), "iris")
    registry.promote("iris", "v1")
    (root / "index.json").write_text(DAMAGE[request.param])
    return root


def _one_line(capsys, root) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    [line] = captured.err.strip().splitlines()
    assert str(root / "index.json") in line
    return line


def test_the_api_raises_an_input_error_naming_the_file(damaged):
    registry = open_registry(str(damaged))
    for call in (registry.list, lambda: registry.get("iris"), lambda: registry.pin("iris"),
                 lambda: registry.promote("iris", "v1")):
        with pytest.raises(InputError, match="index.json"):
            call()


@pytest.mark.parametrize("argv", [["models", "list"], ["models", "show", "iris"], ["models", "promote", "iris", "v1"],
                                  ["serve", "--name", "iris"], ["serve"]])
def test_the_cli_prints_one_line(damaged, capsys, argv):
    assert main(argv) == 2
    _one_line(capsys, damaged)


@pytest.mark.parametrize("pipeline", ["training", "batch-prediction", "monitoring"])
def test_pipelines_stop_before_any_task(damaged, capsys, tmp_path, pipeline):
    data = tmp_path / "rows.csv"
    data.write_text("a,b,y\n" + "".join(f"{i},{i * 2},{i % 2}\n" for i in range(40)))  # valid data: only the index is bad
    argv = {"training": ["run", "training", "--data", str(data), "--label", "y", "--model-name", "iris"],
            "batch-prediction": ["run", "batch-prediction", "--data", str(data), "--model-name", "iris"],
            "monitoring": ["run", "monitoring", "--serving-data", str(data), "--model-name", "iris"]}[pipeline]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out and "pipeline root" not in captured.out
    assert str(damaged / "index.json") in captured.err.strip().splitlines()[-1]
