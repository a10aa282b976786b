"""A self-contained HTML report of a validation: verdict, anomalies, drift, per-column statistics.

One file, no scripts or external assets, so it renders in the KFP and Vertex
AI artifact viewers.
"""
from __future__ import annotations

import html
import os
from pathlib import Path

from tensorflow_metadata.proto.v0 import statistics_pb2

from kfp_mlops.components.core.anomalies import describe_anomalies
from kfp_mlops.components.core.charts import overlay_bars_svg, overlay_histogram_svg
from kfp_mlops.components.core.wording import plural
from kfp_mlops.components.validation.checks import CheckResult
from kfp_mlops.components.validation.statistics import common_stats, feature_name

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:13px}
th{background:#f3f3f3} .pass{color:#16803c} .fail{color:#b42318}
.bar{display:inline-block;height:10px;background:#6b8fd6;margin-right:1px;vertical-align:bottom}
tr.bad td{background:#fdecea}
"""


def _bars(feature: statistics_pb2.FeatureNameStatistics) -> str:
    """A tiny inline histogram: STANDARD buckets for numbers, top values for strings."""
    if feature.HasField("num_stats"):
        standard = [h for h in feature.num_stats.histograms if h.type == statistics_pb2.Histogram.STANDARD]
        counts = [b.sample_count for b in standard[0].buckets] if standard else []
    else:
        counts = [v.frequency for v in feature.string_stats.top_values[:10]]
    top = max(counts, default=0) or 1
    return "".join(f'<span class="bar" style="width:6px;height:{max(1, int(24 * c / top))}px"></span>'
                   for c in counts)


def _summary(feature: statistics_pb2.FeatureNameStatistics) -> str:
    if feature.HasField("num_stats"):
        n = feature.num_stats
        return f"mean {n.mean:.4g}, std {n.std_dev:.4g}, min {n.min:.4g}, median {n.median:.4g}, max {n.max:.4g}"
    s = feature.string_stats
    top = ", ".join(html.escape(v.value) for v in s.top_values[:5])
    return f"{s.unique} distinct; top: {top}"


def _buckets(feature: statistics_pb2.FeatureNameStatistics) -> list[tuple[float, float, float]]:
    standard = [h for h in feature.num_stats.histograms if h.type == statistics_pb2.Histogram.STANDARD]
    return [(b.low_value, b.high_value, b.sample_count) for b in standard[0].buckets] if standard else []


def _shares(feature: statistics_pb2.FeatureNameStatistics) -> dict[str, float]:
    strings = feature.string_stats
    counts = ({v.value: v.frequency for v in strings.top_values} if strings.top_values else
              {b.label: b.sample_count for b in strings.rank_histogram.buckets})
    total = sum(counts.values()) or 1.0
    return {value: count / total for value, count in counts.items()}


def _overlay(feature: statistics_pb2.FeatureNameStatistics,
             reference: statistics_pb2.FeatureNameStatistics | None) -> str:
    """The column's current distribution over the baseline's, with axes; the small bars without a baseline."""
    name = feature_name(feature)
    if reference is None:
        return _bars(feature)
    if feature.HasField("num_stats") and reference.HasField("num_stats"):
        return overlay_histogram_svg(_buckets(reference), _buckets(feature), name)
    if feature.HasField("string_stats") and reference.HasField("string_stats"):
        base, now = _shares(reference), _shares(feature)
        categories = sorted(set(base) | set(now), key=lambda c: -(base.get(c, 0) + now.get(c, 0)))[:12]
        return overlay_bars_svg(categories, [base.get(c, 0.0) for c in categories],
                                [now.get(c, 0.0) for c in categories], name)
    return _bars(feature)


def render_report(
    stats: statistics_pb2.DatasetFeatureStatisticsList, result: CheckResult, title: str = "Data validation",
    reference: statistics_pb2.DatasetFeatureStatisticsList | None = None,
) -> str:
    """Returns the report as an HTML string.

    With ``reference`` statistics (the drift baseline, or training data for
    skew), each column's distribution is drawn over the reference's, with axes.
    """
    dataset = stats.datasets[0]
    by_name = {feature_name(f): f for f in reference.datasets[0].features} if reference else {}
    lines = describe_anomalies(result.anomalies)
    failing = set(result.anomalies.anomaly_info)
    verdict = ('<p class="pass"><b>PASSED</b>: no anomalies.</p>' if not lines else
               f'<p class="fail"><b>FAILED</b>: {plural(len(lines), "anomaly", "anomalies")} in '
               f'{plural(len(failing), "column")}.</p>')
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>",
             f"<p>Dataset <code>{html.escape(dataset.name)}</code>: {dataset.num_examples:,} rows, "
             f"{plural(len(dataset.features), 'column')}.</p>", verdict]
    if lines:
        parts.append("<h2>Anomalies</h2><table><tr><th>column</th><th>anomaly</th><th>detail</th></tr>")
        infos = [("(dataset)", result.anomalies.dataset_anomaly_info)] + sorted(result.anomalies.anomaly_info.items())
        for column, info in infos:
            for reason in info.reason:
                parts.append(f"<tr class='bad'><td>{html.escape(column)}</td>"
                             f"<td>{html.escape(reason.short_description)}</td>"
                             f"<td>{html.escape(reason.description)}</td></tr>")
        parts.append("</table>")
    for what, key, measured in (("Drift against the baseline", "drift", result.drift),
                                ("Skew against training", "skew", result.skew)):
        if measured:
            parts.append(f"<h2>{what}</h2><table><tr><th>column</th><th>measure</th>"
                         "<th>distance</th><th>threshold</th><th></th></tr>")
            for column, (measure, value, threshold) in sorted(measured.items()):
                flag = "<span class='pass'>ok</span>"
                if f"{column} {key}" in result.within_noise:
                    flag = (f"ok: within the noise of small samples "
                            f"(floor {result.within_noise[f'{column} {key}']:.3f})")
                elif value > threshold:
                    flag = "<span class='fail'>over</span>"
                parts.append(f"<tr><td>{html.escape(column)}</td><td>{measure}</td><td>{value:.4f}</td>"
                             f"<td>{threshold:g}</td><td>{flag}</td></tr>")
            parts.append("</table>")
    parts.append("<h2>Columns</h2><table><tr><th>column</th><th>type</th><th>missing</th>"
                 f"<th>distribution{' (baseline and current)' if reference else ''}</th><th>summary</th></tr>")
    for feature in dataset.features:
        name = feature_name(feature)
        common = common_stats(feature)
        total = common.num_non_missing + common.num_missing
        missing = f"{common.num_missing / total:.1%}" if total else "-"
        row_class = " class='bad'" if name in failing else ""
        parts.append(f"<tr{row_class}><td>{html.escape(name)}</td>"
                     f"<td>{statistics_pb2.FeatureNameStatistics.Type.Name(feature.type)}</td>"
                     f"<td>{missing}</td><td>{_overlay(feature, by_name.get(name)) if reference else _bars(feature)}"
                     f"</td><td>{_summary(feature)}</td></tr>")
    parts.append("</table></body></html>")
    return "\n".join(parts)


def write_report(
    path: str | os.PathLike, stats: statistics_pb2.DatasetFeatureStatisticsList, result: CheckResult,
    reference: statistics_pb2.DatasetFeatureStatisticsList | None = None,
) -> None:
    """Writes the HTML report to ``path`` (distributions over ``reference``'s when given)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(render_report(stats, result, reference=reference), encoding="utf-8")
