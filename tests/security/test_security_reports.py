"""Attack: user data (column names, category values, class labels) carrying HTML or Markdown must stay text."""
import pytest

from kfp_mlops.components.evaluation.gate import Check, Verdict
from kfp_mlops.components.evaluation.metrics import Evaluation
from kfp_mlops.components.evaluation.report import render_markdown
from kfp_mlops.components.monitoring.retraining import RetrainingDecision

markdown_it = pytest.importorskip("markdown_it")

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"
LINK = "[click](javascript:alert(3))"
PIPE = "a|b"


def rendered(markdown: str) -> str:
    """HTML from a renderer that passes raw HTML through (as KFP's and GitHub's Markdown viewers may)."""
    return markdown_it.MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)


def assert_inert(html: str) -> None:
    lowered = html.lower()
    assert "<script" not in lowered and "<img" not in lowered and 'href="javascript' not in lowered, html


def test_evaluation_report_escapes_columns_categories_and_labels():
    evaluation = Evaluation(task="classification", rows=10, metrics={"accuracy": 0.9},
                            classes=[SCRIPT, IMG, PIPE], confusion_matrix=[[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    verdict = Verdict(blessed=False, checks=[
        Check("slice", "accuracy", False, f"slice {IMG} of {SCRIPT}: accuracy = 0.5 fails >= 0.8 {LINK}")])
    slices = {IMG: {"rows": 3, "accuracy": 0.5}, LINK: {"rows": 7, "accuracy": 1.0}}
    markdown = render_markdown(SCRIPT, evaluation, verdict, slices=slices, slice_feature=SCRIPT)
    html = rendered(markdown)
    assert_inert(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "fails &gt;= 0.8" in html  # shown as text
    assert "<th>a|b</th>" in html and "<td>a|b</td>" in html  # a "|" in a label breaks no table cell


def test_monitoring_report_escapes_feature_names():
    decision = RetrainingDecision(retrain=True, reasons=[f"drift on {SCRIPT}"], drifted_features={IMG: 0.4},
                                  data_issues=[f"column {LINK} has new values"])
    assert_inert(rendered(decision.to_markdown()))
