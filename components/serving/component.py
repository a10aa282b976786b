"""KFP components for the serving runtime: infra validation of a candidate model."""
from kfp.dsl import Artifact, Dataset, Input, Model, Output

from kfp_mlops.components.images import component


@component("serve")
def infra_validate(
    model: Input[Model],
    examples: Input[Dataset],
    label: str,
    report: Output[Artifact],
    max_examples: int = 20,
) -> bool:
    """Serves the candidate on a loopback endpoint and checks its answers to real eval rows.

    Starts the same KServe server ``kfp-mlops serve`` runs, sends the first
    ``max_examples`` rows of ``examples`` through the V1 and V2 predict routes,
    and checks HTTP 200, one prediction per row, and predictions equal to the
    model's in-process predictions.

    Args:
        model: The candidate model directory.
        examples: The eval split (CSV with a header row).
        label: The label column, dropped before sending.
        report: JSON report: ``passed``, one line per check, rows, startup seconds.
        max_examples: Rows to send.

    Returns:
        True when every check passed (the gate before promotion).
    """
    from kfp_mlops.components.serving.infra import validate_serving, write_report

    result = validate_serving(model.path, examples.path, label, max_examples)
    write_report(result, report.path)
    report.metadata.update({"passed": result.passed, "rows": result.rows, "startup_seconds": result.startup_seconds})
    return result.passed

