"""Published component YAMLs: golden check against the source, and reuse by loading."""
from kfp import compiler, components, dsl

from kfp_mlops.pipelines.catalog import list_components, publish_component_yamls


def test_published_yamls_match_the_source(tmp_path):
    """Fails when a component changed and `make publish` was not run."""
    entries = list_components()
    assert {e.capability for e in entries} >= {"data", "validation", "training", "evaluation", "registry"}
    publish_component_yamls(root=tmp_path)
    stale = [e.name for e in entries
             if not e.yaml_path().exists() or e.yaml_path().read_text() != e.yaml_path(tmp_path).read_text()]
    assert not stale, f"published YAMLs are stale, run `make publish`: {stale}"


def test_a_published_yaml_loads_into_a_new_pipeline(tmp_path):
    entry = next(e for e in list_components() if e.name == "ingest_data")
    loaded = components.load_component_from_file(str(entry.yaml_path()))

    @dsl.pipeline(name="reuse")
    def reuse(data_path: str = ""):
        loaded(data_path=data_path, label="species")

    out = tmp_path / "reuse.yaml"
    compiler.Compiler().compile(reuse, str(out))
    text = out.read_text()
    assert "kfp-mlops-core:" in text and "ingest_csv" in text
