"""Every file artifact of a local run opens from its path: report.html, report.md, predictions.csv."""
from pathlib import Path

from kfp import dsl
from kfp.dsl import HTML, Artifact, Dataset, Markdown, Output

from kfp_mlops.pipelines import local_runner
from kfp_mlops.pipelines.local_files import extension_for


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def write_reports(html: Output[HTML], markdown: Output[Markdown], rows: Output[Dataset], schema: Output[Artifact],
                  statistics: Output[Artifact]):
    """Writes one artifact of each kind."""
    with open(html.path, "w") as handle:
        handle.write("<!DOCTYPE html><html><body><h1>Report</h1></body></html>")
    with open(markdown.path, "w") as handle:
        handle.write("# Decision\n\n- retrain\n")
    with open(rows.path, "w") as handle:
        handle.write("a,b\n1,2\n")
    with open(schema.path, "w") as handle:
        handle.write('feature {\n  name: "a"\n}\n')
    with open(statistics.path, "wb") as handle:
        handle.write(b"\x0a\x95\x01\xff\xfe binary")


@dsl.pipeline(name="reports-probe")
def reports():
    write_reports()


def test_file_artifacts_get_their_extensions_and_the_originals_stay(tmp_path):
    run = local_runner.run_pipeline(reports, {}, root=tmp_path, progress=False, log_path=tmp_path / "l.log")
    assert run.succeeded, run.error
    outputs = run.tasks["write-reports"]
    names = {key: Path(outputs[key].path).name for key in ("html", "markdown", "rows", "schema", "statistics")}
    assert names == {"html": "html.html", "markdown": "markdown.md", "rows": "rows.csv", "schema": "schema.pbtxt",
                     "statistics": "statistics"}
    assert Path(outputs["html"].path).read_text().startswith("<!DOCTYPE html>")
    assert (Path(outputs["html"].path).parent / "html").is_file()  # the artifact KFP wrote is still there
    # A cached re-run names the same files.
    again = local_runner.run_pipeline(reports, {}, root=tmp_path, progress=False, log_path=tmp_path / "m.log")
    assert again.tasks["write-reports"]["markdown"].path == outputs["markdown"].path


def test_parquet_and_unknown_files(tmp_path):
    parquet = tmp_path / "predictions"
    parquet.write_bytes(b"PAR1....PAR1")
    assert extension_for(Dataset(uri=str(parquet)), "predictions") == ".parquet"
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    assert extension_for(Artifact(uri=str(model_dir)), "model") == ""
