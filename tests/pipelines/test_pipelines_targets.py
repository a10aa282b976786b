"""Targets are objects found in one package: a new target is one new module, with no `if` chain to edit."""
import sys

import pytest

from kfp_mlops.pipelines.targets import TARGETS, compiled_target, compiled_targets, discover, get_target

ONPREM = '''
from kfp_mlops.pipelines.targets.base import SubmitOption, Target


class OnPremTarget(Target):
    name = "onprem"
    order = 30
    description = "an on-premises KFP fork"
    submit_options = (SubmitOption("--cluster", "cluster name", required=True),)

    def add_deploy_step(self, step):
        return step.promote
'''


def test_the_registry_lists_local_and_the_compiled_targets():
    assert list(TARGETS) == ["local", "vertex", "kfp"]
    assert compiled_targets() == ("vertex", "kfp")
    with pytest.raises(ValueError, match="unknown target 'gke'; expected one of: local, vertex, kfp"):
        get_target("gke")
    with pytest.raises(ValueError, match="expected one of: vertex, kfp"):
        compiled_target("local")


def test_a_fourth_target_is_one_module(tmp_path, monkeypatch):
    package = tmp_path / "more_targets"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "onprem.py").write_text(ONPREM)
    monkeypatch.syspath_prepend(str(tmp_path))
    found = discover("more_targets")
    assert list(found) == ["onprem"]
    onprem = found["onprem"]
    assert onprem.compiled and onprem.missing_submit_options({}) == ["--cluster"]
    with pytest.raises(ValueError, match="--target onprem needs --cluster"):
        onprem.require({}, as_flags=True)
    sys.modules.pop("more_targets", None)


def test_targets_own_their_submit_options():
    vertex, kfp = compiled_target("vertex"), compiled_target("kfp")
    assert vertex.missing_submit_options({}) == ["--project", "--region", "--pipeline-root"]
    assert kfp.missing_submit_options({"host": "http://127.0.0.1:1"}) == []
    with pytest.raises(ValueError, match="target vertex needs: project, region, pipeline_root"):
        vertex.require({})
