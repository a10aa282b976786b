"""Golden compiled pipelines for both targets, and the credential scan of every compiled spec.

Refresh the goldens after an intended pipeline change (the same command the
test compares against)::

    for t in vertex kfp; do kfp-mlops compile --target $t --out tests/golden/$t --image-tag golden; done
"""
import difflib
from pathlib import Path

import pytest
import yaml

from kfp_mlops.pipelines.cli.main import main
from kfp_mlops.pipelines.compiler import pipeline_factories
from kfp_mlops.pipelines.submission import load_package, scan_file

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
TARGETS = ("vertex", "kfp")
REFRESH = "for t in vertex kfp; do kfp-mlops compile --target $t --out tests/golden/$t --image-tag golden; done"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    out = tmp_path_factory.mktemp("compiled")
    for target in TARGETS:
        assert main(["compile", "--target", target, "--out", str(out / target), "--image-tag", "golden"]) == 0
    return out


@pytest.mark.parametrize("target", TARGETS)
def test_one_golden_per_pipeline(target):
    assert sorted(p.stem for p in (GOLDEN / target).glob("*.yaml")) == sorted(pipeline_factories()), (
        f"goldens and pipelines differ; refresh with: {REFRESH}")


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", sorted(pipeline_factories()))
def test_compiled_pipeline_matches_golden(fresh, target, name):
    expected = (GOLDEN / target / f"{name}.yaml").read_text()
    actual = (fresh / target / f"{name}.yaml").read_text()
    if actual != expected:
        diff = "".join(list(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                                 f"golden/{target}/{name}.yaml", "compiled"))[:60])
        pytest.fail(f"{target}/{name} differs from its golden; if intended, refresh with:\n  {REFRESH}\n{diff}")


@pytest.mark.parametrize("target", TARGETS)
def test_compiled_specs_carry_no_credentials(fresh, target):
    files = sorted((GOLDEN / target).glob("*.yaml")) + sorted((fresh / target).glob("*.yaml"))
    assert files
    for path in files:
        assert scan_file(path) == [], path


def test_vertex_goldens_are_single_documents_that_aiplatform_loads_offline():
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform

    for path in sorted((GOLDEN / "vertex").glob("*.yaml")):
        assert len([d for d in yaml.safe_load_all(path.read_text()) if d]) == 1
        package = load_package(path)
        job = aiplatform.PipelineJob(display_name="golden", template_path=str(path), project="p",
                                     location="us-central1", credentials=AnonymousCredentials(),
                                     pipeline_root="gs://bucket/root")
        assert job.job_id.startswith(package.name)


def test_kfp_goldens_load_in_kfp_client_form():
    from kfp.client.client import _extract_pipeline_yaml

    for path in sorted((GOLDEN / "kfp").glob("*.yaml")):
        doc = _extract_pipeline_yaml(str(path))
        assert doc.pipeline_spec.pipeline_info.name == path.stem
