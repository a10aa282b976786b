"""The evaluation report: the verdict, the reason for each check, and the metrics, as Markdown."""
from __future__ import annotations

from kfp_mlops.components.core.escaping import markdown_text as _md
from kfp_mlops.components.evaluation.gate import Verdict
from kfp_mlops.components.evaluation.metrics import Evaluation

KIND_TITLES = {"skill": "Against a no-skill baseline", "threshold": "Absolute thresholds",
               "champion": "Against the champion", "slice": "Slices"}


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table; every cell is escaped (column names and values are user data)."""
    lines = ["| " + " | ".join(map(_md, header)) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(map(_md, row)) + " |" for row in rows]


def render_markdown(model_name: str, evaluation: Evaluation, verdict: Verdict,
                    champion: Evaluation | None = None, champion_label: str = "",
                    slices: dict[str, dict[str, float]] | None = None, slice_feature: str = "",
                    attributions: list | None = None) -> str:
    """Renders the report.

    Args:
        model_name: The model's registry name (or any title).
        evaluation: The challenger's evaluation.
        verdict: The gate's verdict.
        champion: The champion's evaluation on the same rows, if any.
        champion_label: e.g. ``champion v3``.
        slices: Per-slice metrics.
        slice_feature: The sliced feature.
        attributions: Global feature attributions (``explain.GlobalAttribution``), most important first.
    """
    status = "BLESSED" if verdict.blessed else "NOT BLESSED"
    lines = [f"# Evaluation of {_md(model_name or 'model')}: {status}", "",
             f"{evaluation.task.capitalize()} model, scored on {evaluation.rows} test rows.", ""]
    if verdict.failures:
        lines += ["## Why not blessed", ""] + [f"- {_md(c.reason)}" for c in verdict.failures] + [""]
    if verdict.breaking:
        lines += ["## Breaking change: not promoted automatically", "", f"- {_md(verdict.breaking)}", ""]
    lines += ["## Checks", ""]
    for kind, title in KIND_TITLES.items():
        checks = [c for c in verdict.checks if c.kind == kind]
        if checks:
            lines += ([f"### {title}", ""] + [f"- {'PASS' if c.passed else 'FAIL'}: {_md(c.reason)}" for c in checks]
                      + [""])
    header = ["metric", "model"] + ([champion_label or "champion"] if champion else [])
    rows = [[name, f"{value:.4f}"] + ([f"{champion.metrics[name]:.4f}"] if champion and name in champion.metrics
                                      else ["-"] if champion else [])
            for name, value in sorted(evaluation.metrics.items())]
    lines += ["## Metrics", ""] + _table(header, rows) + [""]
    if evaluation.confusion_matrix:
        lines += ["## Confusion matrix (rows: truth, columns: predicted)", ""]
        lines += _table([""] + evaluation.classes,
                        [[cls] + [str(n) for n in row]
                         for cls, row in zip(evaluation.classes, evaluation.confusion_matrix, strict=True)])
        lines.append("")
    if slices:
        names = sorted({m for values in slices.values() for m in values if m != "rows"})
        lines += [f"## Slices by {_md(slice_feature)}", ""]
        lines += _table([slice_feature, "rows"] + names,
                        [[value, str(int(values.get("rows", 0)))] + [f"{values[m]:.4f}" if m in values else "-"
                                                                      for m in names]
                         for value, values in slices.items()])
        lines.append("")
    if attributions:
        lines += attribution_lines(attributions, evaluation.task)
    return "\n".join(lines)


def attribution_lines(attributions: list, task: str) -> list[str]:
    """The report's feature-attribution section: permutation importance per raw input feature, with a bar."""
    metric = "accuracy" if task == "classification" else "r2"
    top = max((a.importance for a in attributions), default=0.0)
    rows = [[a.feature, f"{a.importance:.4f}", f"{a.std:.4f}",
             "█" * int(round(20 * a.importance / top)) if top > 0 and a.importance > 0 else ""] for a in attributions]
    return ([f"## Feature attributions (permutation importance: drop in {metric} when the feature is shuffled)", ""]
            + _table(["feature", "importance", "std", ""], rows) + [""])
