"""The local runner reports every task's outputs, on cold and cached runs alike."""

from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Output

from kfp_mlops.pipelines import local_runner


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def make_rows(rows: int, data: Output[Dataset], metrics: Output[Metrics]) -> bool:
    """Writes rows and passes when there are any."""
    with open(data.path, "w") as handle:
        handle.write("x\n" + "".join(f"{i}\n" for i in range(rows)))
    metrics.log_metric("rows", rows)
    with open(metrics.path, "w") as handle:
        handle.write(str(rows))
    return rows > 0


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def count_rows(data: Input[Dataset]) -> int:
    """Counts data rows."""
    with open(data.path) as handle:
        return len(handle.read().splitlines()) - 1


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def explode(message: str):
    """Fails with a clear error."""
    raise ValueError(message)


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def refuse_model(message: str):
    """Fails as the library does on a tampered model: a ChecksumError, a kind of InputError."""
    from kfp_mlops.components.core.errors import ChecksumError

    raise ChecksumError(message)


@dsl.pipeline(name="runner-typed-failure")
def refusing(message: str = "model.skops does not match its manifest"):
    refuse_model(message=message)


@dsl.pipeline(name="runner-probe")
def gated(rows: int = 3):
    make = make_rows(rows=rows)
    with dsl.If(make.outputs["Output"] == True):  # noqa: E712
        count_rows(data=make.outputs["data"])


@dsl.pipeline(name="runner-failure")
def failing(message: str = "column 'x' is bad"):
    explode(message=message)


def test_cached_rerun_still_reports_every_task(tmp_path, capfd):
    first = local_runner.run_pipeline(gated, {"rows": 3}, root=tmp_path, log_path=tmp_path / "a.log")
    second = local_runner.run_pipeline(gated, {"rows": 3}, root=tmp_path, log_path=tmp_path / "b.log")
    for run in (first, second):
        assert run.succeeded, run.error
        assert run.output("make-rows") is True
        assert run.output("count-rows") == 3
        assert run.tasks["make-rows"]["metrics"].metadata == {"rows": 3}
    printed = capfd.readouterr().out
    assert "make-rows: running" in printed and "make-rows: cached" in printed
    assert "KFP Executor" not in printed  # task logs go to the log file
    assert "KFP Executor" in (tmp_path / "a.log").read_text()


def test_gate_skips_the_branch(tmp_path):
    run = local_runner.run_pipeline(gated, {"rows": 0}, root=tmp_path, progress=False, log_path=tmp_path / "l.log")
    assert run.succeeded
    assert run.output("make-rows") is False
    assert "count-rows" not in run.tasks


def test_failure_reports_the_tasks_exception_line(tmp_path):
    run = local_runner.run_pipeline(failing, {}, root=tmp_path, progress=False, log_path=tmp_path / "f.log")
    assert not run.succeeded
    assert run.error == "ValueError: column 'x' is bad"
    assert run.failure is not None and run.failure.kind == "ValueError" and not run.failure.input_error


def test_a_failure_travels_as_a_type_not_a_substring(tmp_path):
    # A message that merely mentions InputError is not one; a ChecksumError is one, by its class.
    mentions = local_runner.run_pipeline(failing, {"message": "an InputError was expected"}, root=tmp_path,
                                         progress=False, log_path=tmp_path / "m.log")
    assert mentions.failure.kind == "ValueError" and not mentions.failure.input_error
    refused = local_runner.run_pipeline(refusing, {}, root=tmp_path, progress=False, log_path=tmp_path / "r.log")
    assert refused.failure.kind == "ChecksumError" and refused.failure.module == "kfp_mlops.components.core.errors"
    assert refused.failure.input_error and refused.failure.is_a("InputError")
    assert refused.error == "ChecksumError: model.skops does not match its manifest"


def test_arguments_that_kfp_local_would_mangle_are_refused(tmp_path):
    import pytest

    from kfp_mlops.components.core.errors import InputError

    with pytest.raises(InputError, match="contains 'python3'"):
        local_runner.run_pipeline(gated, {"rows": 1, "path": "/x/lib/python3.11/d.csv"}, root=tmp_path)
