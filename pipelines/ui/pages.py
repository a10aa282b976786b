"""The run browser's pages: server-side HTML with inline SVG charts, no JavaScript.

Every page reads the same artifact metadata the KFP UI reads (``Metrics``
values, ``ClassificationMetrics``' ``confusionMatrix`` and ``confidenceMetrics``),
from the local runner's run records and the local registry.
"""
from __future__ import annotations

import time
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from kfp_mlops.components.core.charts import confusion_matrix_svg, roc_svg
from kfp_mlops.pipelines.local_progress import seconds_text
from kfp_mlops.pipelines.run_records import RunRecord

STYLE = """
body{font-family:system-ui,sans-serif;margin:0;color:#1f2328}
nav{background:#1f3b70;padding:8px 16px} nav a{color:#fff;margin-right:18px;text-decoration:none;font-weight:600}
main{padding:12px 20px} h1{font-size:22px} h2{font-size:17px;margin-top:1.4em}
table{border-collapse:collapse;margin:0.4em 0 1em} th,td{border:1px solid #d0d7de;padding:4px 8px;font-size:13px;
text-align:left;vertical-align:top} th{background:#f6f8fa} td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#1a7f37;font-weight:600} .failed{color:#cf222e;font-weight:600} .cached{color:#6e7781}
.diff{background:#fff8c5} .better{color:#1a7f37} .worse{color:#cf222e} .charts{display:flex;gap:24px;flex-wrap:wrap}
.side{display:grid;grid-template-columns:1fr 1fr;gap:24px} pre{background:#f6f8fa;padding:8px;overflow:auto;
font-size:12px;max-height:70vh} code{font-size:12px} .report{border:1px solid #d0d7de;padding:12px}
"""
LOWER_IS_BETTER = ("log_loss", "rmse", "mae", "loss")


def layout(title: str, body: str) -> str:
    """A full page with the navigation bar."""
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)} - kfp-mlops</title>"
            f"<style>{STYLE}</style></head><body><nav><a href='/'>Runs</a><a href='/registry'>Registry</a>"
            f"<a href='/compare'>Compare runs</a></nav><main><h1>{escape(title)}</h1>{body}</main></body></html>")


def _status(succeeded: bool | str) -> str:
    if succeeded in (True, "ok"):
        return "<span class='ok'>succeeded</span>" if succeeded is True else "<span class='ok'>ok</span>"
    if succeeded == "cached":
        return "<span class='cached'>cached</span>"
    return "<span class='failed'>failed</span>" if succeeded is False else f"<span class='failed'>{succeeded}</span>"


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch)) if epoch else "-"


def _value(value: Any, limit: int = 2000) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, (dict, list)):
        import json

        text = json.dumps(value, sort_keys=True)
        return f"<code>{escape(text[:limit] + ('...' if len(text) > limit else ''))}</code>"
    return escape(str(value)[:limit])


def file_link(path: str, label: str = "") -> str:
    """A link to a file served read-only by the browser."""
    return f"<a href='/file?{urlencode({'path': path})}'>{escape(label or path)}</a>"


def run_link(name: str) -> str:
    """A link to a run's page."""
    return f"<a href='/run/{quote(name)}'>{escape(name)}</a>"


def _options(names: list[str], selected: str) -> str:
    return "".join(f"<option{' selected' if n == selected else ''}>{escape(n)}</option>" for n in names)


def runs_page(runs: list[RunRecord]) -> str:
    """The list of runs, newest first, with a form to compare two of them."""
    if not runs:
        return layout("Runs", "<p>No local runs recorded yet: run <code>kfp-mlops run training</code>.</p>")
    rows = [("<table><tr><th>run</th><th>pipeline</th><th>status</th><th>started</th><th>duration</th>"
             "<th>parameters</th></tr>")]
    for run in runs:
        parameters = ", ".join(f"{k}={v}" for k, v in sorted(run.parameters.items()) if v not in ("", {}, [], None))
        rows.append(f"<tr><td>{run_link(run.run)}</td><td>{escape(run.pipeline)}</td><td>{_status(run.succeeded)}"
                    f"</td><td>{_when(run.started_at)}</td><td class='num'>{seconds_text(run.seconds)}</td>"
                    f"<td><code>{escape(parameters[:300])}</code></td></tr>")
    rows.append("</table>")
    names = [r.run for r in runs]
    form = (f"<h2>Compare two runs</h2><form action='/compare' method='get'><select name='a'>"
            f"{_options(names, names[min(1, len(names) - 1)])}</select> <select name='b'>{_options(names, names[0])}"
            "</select> <button type='submit'>Compare</button></form>")
    return layout("Runs", "".join(rows) + form)


def _metrics_artifacts(run: RunRecord, title: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [(task, name, artifact) for task, name, artifact in run.artifacts() if artifact.get("schema_title") == title]


def metrics_of(run: RunRecord) -> dict[str, float]:
    """Every scalar metric of a run's ``Metrics`` artifacts (``task/name`` when two tasks share a name)."""
    found: dict[str, float] = {}
    for _task, _name, artifact in _metrics_artifacts(run, "system.Metrics"):
        for key, value in artifact.get("metadata", {}).items():
            if isinstance(value, (int, float)):
                found[key if key not in found else f"{_task}/{key}"] = float(value)
    return found


def classification_charts(metadata: dict[str, Any]) -> str:
    """The confusion matrix and, when present, the ROC curve of a ``ClassificationMetrics`` artifact."""
    charts = []
    matrix = metadata.get("confusionMatrix")
    if matrix:
        classes = [spec.get("displayName", str(i)) for i, spec in enumerate(matrix.get("annotationSpecs", []))]
        rows = [row.get("row", []) for row in matrix.get("rows", [])]
        charts.append(f"<figure class='confusion-matrix'>{confusion_matrix_svg(classes, rows)}"
                      "<figcaption>Confusion matrix (rows: actual, columns: predicted)</figcaption></figure>")
    points = metadata.get("confidenceMetrics")
    if points:
        ordered = sorted(points, key=lambda p: (p.get("falsePositiveRate", 0), p.get("recall", 0)))
        roc = roc_svg([p.get('falsePositiveRate', 0) for p in ordered], [p.get('recall', 0) for p in ordered])
        charts.append(f"<figure class='roc'>{roc}"
                      "<figcaption>ROC curve</figcaption></figure>")
    return f"<div class='charts'>{''.join(charts)}</div>" if charts else ""


def run_page(run: RunRecord) -> str:
    """One run: summary, parameters, steps, metrics and charts, reports, artifacts."""
    parts = [(f"<p>Pipeline <b>{escape(run.pipeline)}</b>: {_status(run.succeeded)}, "
              f"started {_when(run.started_at)}, {seconds_text(run.seconds)}.</p>")]
    if run.error:
        parts.append(f"<p class='failed'>{escape(run.error)}</p>")
    parts.append("<h2>Parameters</h2><table><tr><th>name</th><th>value</th></tr>" + "".join(
        f"<tr><td>{escape(k)}</td><td>{_value(v)}</td></tr>" for k, v in sorted(run.parameters.items())) + "</table>")
    parts.append("<h2>Steps</h2><table><tr><th>step</th><th>task</th><th>status</th><th>started</th><th>time</th>"
                 "<th>log</th></tr>")
    for step in run.steps:
        log = (f"<a href='/run/{quote(run.run)}/log?{urlencode({'task': step['task']})}'>log</a>"
               if run.log_path and step["status"] != "cached" else "-")
        elapsed = "-" if step["status"] == "cached" else seconds_text(step["seconds"])
        parts.append(f"<tr><td>{escape(step['display_name'])}</td><td><code>{escape(step['task'])}</code></td>"
                     f"<td>{_status(step['status'])}</td><td>{_when(step['started'])}</td>"
                     f"<td class='num'>{elapsed}</td><td>{log}</td></tr>")
    parts.append("</table>")
    if run.log_path:
        parts.append(f"<p>Whole log: <a href='/run/{quote(run.run)}/log'>{escape(run.log_path)}</a></p>")
    for task, _name, artifact in _metrics_artifacts(run, "system.Metrics"):
        parts.append(f"<h2>Metrics: {escape(run.label(task))}</h2><table class='metrics'><tr><th>metric</th>"
                     "<th>value</th></tr>" + "".join(
                         f"<tr><td>{escape(k)}</td><td class='num metric' data-metric='{escape(k, quote=True)}'>"
                         f"{_value(v)}</td></tr>" for k, v in sorted(artifact.get("metadata", {}).items()))
                     + "</table>")
    for task, _name, artifact in _metrics_artifacts(run, "system.ClassificationMetrics"):
        charts = classification_charts(artifact.get("metadata", {}))
        if charts:
            parts.append(f"<h2>Classification: {escape(run.label(task))}</h2>{charts}")
    reports = run.reports()
    if reports:
        parts.append("<h2>Reports and data</h2><ul>" + "".join(
            f"<li>{escape(run.label(task))} {escape(name)}: <a href='/report?{urlencode({'path': path})}'>view</a> "
            f"({file_link(path, 'file')})</li>" for task, name, path in reports) + "</ul>")
    parts.append("<h2>Artifacts</h2><table><tr><th>step</th><th>output</th><th>type</th><th>uri</th>"
                 "<th>metadata</th></tr>")
    for task, name, artifact in run.artifacts():
        parts.append(f"<tr><td>{escape(run.label(task))}</td><td>{escape(name)}</td>"
                     f"<td>{escape(artifact.get('schema_title', ''))}</td><td>{file_link(artifact['uri'])}</td>"
                     f"<td>{_value(artifact.get('metadata', {}), 400)}</td></tr>")
    parts.append("</table>")
    return layout(f"Run {run.run}", "".join(parts))


def _delta(name: str, a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "-"
    change = b - a
    if abs(change) < 1e-12:
        return "0"
    better = (change < 0) if any(name.endswith(k) for k in LOWER_IS_BETTER) else (change > 0)
    return f"<span class='{'better' if better else 'worse'}'>{change:+.4f}</span>"


def _metric_rows(a: dict[str, float], b: dict[str, float]) -> str:
    rows = ["<table class='compare-metrics'><tr><th>metric</th><th>A</th><th>B</th><th>B - A</th></tr>"]
    for key in sorted(set(a) | set(b)):
        left, right = a.get(key), b.get(key)
        rows.append(f"<tr><td>{escape(key)}</td><td class='num' data-side='a' data-metric='{escape(key, quote=True)}'>"
                    f"{'-' if left is None else f'{left:.4f}'}</td><td class='num' data-side='b' "
                    f"data-metric='{escape(key, quote=True)}'>{'-' if right is None else f'{right:.4f}'}</td>"
                    f"<td class='num'>{_delta(key, left, right)}</td></tr>")
    rows.append("</table>")
    return "".join(rows)


def compare_runs_page(a: RunRecord, b: RunRecord, names: list[str]) -> str:
    """Two runs side by side: parameters, metrics with deltas, confusion matrices, step times."""
    form = (f"<form action='/compare' method='get'><select name='a'>{_options(names, a.run)}</select> "
            f"<select name='b'>{_options(names, b.run)}</select> <button type='submit'>Compare</button></form>")
    parts = [form, (f"<p>A: {run_link(a.run)} ({_status(a.succeeded)}, {seconds_text(a.seconds)}) &nbsp; "
                    f"B: {run_link(b.run)} ({_status(b.succeeded)}, {seconds_text(b.seconds)})</p>")]
    parts.append("<h2>Parameters</h2><table><tr><th>name</th><th>A</th><th>B</th></tr>")
    for key in sorted(set(a.parameters) | set(b.parameters)):
        left, right = a.parameters.get(key, "-"), b.parameters.get(key, "-")
        parts.append(f"<tr{' class=diff' if left != right else ''}><td>{escape(key)}</td><td>{_value(left)}</td>"
                     f"<td>{_value(right)}</td></tr>")
    parts.append("</table><h2>Metrics</h2>" + _metric_rows(metrics_of(a), metrics_of(b)))
    charts = [classification_charts(art.get("metadata", {})) for run in (a, b)
              for _, _, art in _metrics_artifacts(run, "system.ClassificationMetrics")[:1]]
    if any(charts):
        parts.append("<h2>Classification</h2><div class='side'>" + "".join(f"<div>{c}</div>" for c in charts)
                     + "</div>")
    tasks = [s["task"] for s in a.steps] + [s["task"] for s in b.steps if not a.step(s["task"])]
    parts.append("<h2>Steps</h2><table><tr><th>step</th><th>A</th><th>B</th></tr>")
    for task in tasks:
        cells = []
        for run in (a, b):
            step = run.step(task)
            cells.append("-" if not step else "cached" if step["status"] == "cached" else
                         f"{escape(step['status'])}, {seconds_text(step['seconds'])}")
        parts.append(f"<tr><td>{escape(a.label(task) if a.step(task) else b.label(task))}</td><td>{cells[0]}</td>"
                     f"<td>{cells[1]}</td></tr>")
    parts.append("</table>")
    return layout("Compare runs", "".join(parts))


def registry_page(versions: list[Any], deployments: dict[str, dict[str, Any]], run_names: set[str]) -> str:
    """Every model: versions, aliases, metrics, lineage and the locally deployed version; a compare form per model."""
    if not versions:
        return layout("Registry", "<p>No models registered yet.</p>")
    parts = []
    for name in sorted({v.name for v in versions}):
        mine = [v for v in versions if v.name == name]
        deployed = deployments.get(name, {}).get("version")
        parts.append(f"<h2>{escape(name)}</h2><table><tr><th>version</th><th>aliases</th><th>deployed</th>"
                     "<th>registered</th><th>metrics</th><th>lineage</th></tr>")
        for version in mine:
            run = version.lineage.get("pipeline_run_id", "")
            lineage = [f"run {run_link(run) if run in run_names else escape(run)}"] if run else []
            lineage += [f"{escape(k)} <code>{escape(str(v)[:12])}</code>" for k, v in sorted(version.lineage.items())
                        if k != "pipeline_run_id"]
            metrics = ", ".join(f"{k}={v:.4f}" for k, v in sorted(version.metrics.items()))
            parts.append(f"<tr><td><b>{escape(version.version)}</b></td><td>{escape(', '.join(version.aliases))}</td>"
                         f"<td>{'deployed locally' if version.version == deployed else ''}</td>"
                         f"<td>{escape(version.created_at)}</td><td>{escape(metrics)}</td>"
                         f"<td>{'<br>'.join(lineage)}</td></tr>")
        parts.append("</table>")
        labels = [v.version for v in mine]
        if len(labels) > 1:
            parts.append(f"<form action='/compare-models' method='get'><input type='hidden' name='name' "
                         f"value='{escape(name, quote=True)}'><select name='a'>{_options(labels, labels[-2])}</select> "
                         f"<select name='b'>{_options(labels, labels[-1])}</select> "
                         "<button type='submit'>Compare versions</button></form>")
    return layout("Registry", "".join(parts))


def compare_models_page(a: Any, b: Any, deployments: dict[str, dict[str, Any]], run_names: set[str],
                        labels: list[str]) -> str:
    """Two versions of one model side by side: metrics with deltas, aliases, lineage."""
    deployed = deployments.get(a.name, {}).get("version")
    form = (f"<form action='/compare-models' method='get'><input type='hidden' name='name' "
            f"value='{escape(a.name, quote=True)}'><select name='a'>{_options(labels, a.version)}</select> "
            f"<select name='b'>{_options(labels, b.version)}</select> <button type='submit'>Compare</button></form>")
    parts = [form, (f"<p>A: <b>{escape(a.name)} {escape(a.version)}</b> &nbsp; B: <b>{escape(b.name)} "
                    f"{escape(b.version)}</b></p><h2>Metrics</h2>"), _metric_rows(a.metrics, b.metrics)]
    parts.append("<h2>Versions</h2><table><tr><th></th><th>A</th><th>B</th></tr>")
    for label, pick in (("aliases", lambda v: ", ".join(v.aliases)), ("registered", lambda v: v.created_at),
                        ("deployed locally", lambda v: "yes" if v.version == deployed else ""),
                        ("sha256", lambda v: v.sha256[:16])):
        parts.append(f"<tr><td>{label}</td><td>{escape(str(pick(a)))}</td><td>{escape(str(pick(b)))}</td></tr>")
    for key in sorted(set(a.lineage) | set(b.lineage)):
        cells = []
        for version in (a, b):
            value = str(version.lineage.get(key, "-"))
            cells.append(run_link(value) if value in run_names else escape(value))
        diff = " class=diff" if a.lineage.get(key) != b.lineage.get(key) else ""
        parts.append(f"<tr{diff}><td>{escape(key)}</td><td>{cells[0]}</td><td>{cells[1]}</td></tr>")
    parts.append("</table>")
    return layout(f"Compare {a.name} {a.version} and {b.version}", "".join(parts))


def report_page(title: str, path: str, body_html: str) -> str:
    """A report, already rendered and sanitized, framed by the navigation."""
    return layout(title, f"<p>{file_link(path)}</p><div class='report'>{body_html}</div>")


def log_page(title: str, text: str) -> str:
    """A log, as preformatted text."""
    return layout(title, f"<pre>{escape(text)}</pre>")
