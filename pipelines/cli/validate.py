"""``kfp-mlops validate``: validate a CSV file on its own, with no pipeline.

Exit codes: 0 no anomalies; 1 anomalies found; 2 bad input, with a one-line cause.
"""
from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds the ``validate`` subcommand."""
    parser = subparsers.add_parser(
        "validate",
        help="validate a CSV: statistics, schema, anomalies, drift (TFX formats)",
        description="Computes TFX statistics of a CSV, checks them against a schema (given, or "
        "inferred from the baseline or the data), measures drift against a baseline CSV, and "
        "writes statistics, schema.pbtxt, anomalies.pbtxt and report.html. "
        "Exits 1 when anomalies are found, 2 on bad input.",
    )
    parser.add_argument("--data", required=True, help="CSV file to validate (with a header row)")
    parser.add_argument("--schema", default=None, help="curated schema.pbtxt (default: infer one)")
    parser.add_argument("--baseline", default=None, help="baseline CSV for drift (and the schema if none is given)")
    parser.add_argument("--label", default="",
                        help="label column, kept out of the SERVING environment (of an inferred or a given schema)")
    parser.add_argument("--environment", default="", type=str.upper, choices=("", "TRAINING", "SERVING"),
                        help="check the data as TRAINING or SERVING rows: SERVING rows need no label "
                        "(default: every feature of the schema is expected)")
    parser.add_argument("--drift-threshold", type=float, default=0.1,
                        help="drift threshold of an inferred schema (Jensen-Shannon / L-infinity)")
    parser.add_argument("--out", default="validation", help="output directory (default: ./validation)")
    parser.set_defaults(func=handle)


def _row(column: dict) -> str:
    drift = "" if column["drift"] is None else f"{column['drift']:.3f}"
    status = "; ".join(column["problems"]) if column["problems"] else "ok"
    return f"  {column['column'][:28]:<28} {column['type']:<7} {column['missing']:>8.1%} {drift:>7}  {status}"


def handle(args: argparse.Namespace) -> int:
    """Runs the validation and prints a per-column summary; returns the exit code."""
    from kfp_mlops.components.core.errors import InputError
    from kfp_mlops.components.core.wording import plural
    from kfp_mlops.components.validation.validate import validate_csv

    try:
        found = validate_csv(args.data, args.out, schema_path=args.schema, baseline_path=args.baseline,
                             label=args.label, drift_threshold=args.drift_threshold, environment=args.environment)
    except InputError as error:
        print(f"kfp-mlops validate: error: {error}", file=sys.stderr)
        return 2
    print(f"\n  {'column':<28} {'type':<7} {'missing':>8} {'drift':>7}  status")
    for column in found.columns:
        print(_row(column))
    dataset_lines = [line for line in found.result.anomalies if line.startswith("(dataset)")]
    for line in dataset_lines:
        print(f"  {line}")
    print()
    for name in ("schema", "statistics", "anomalies", "report"):
        print(f"  {name:<11} {found.paths[name]}")
    if found.result.passed:
        print("\nvalidation passed: no anomalies")
        return 0
    failing = sorted({c["column"] for c in found.columns if c["problems"]})
    print(f"\nvalidation FAILED: {plural(len(found.result.anomalies), 'anomaly', 'anomalies')}"
          + (f" in {'column' if len(failing) == 1 else 'columns'} {', '.join(failing)}" if failing else ""),
          file=sys.stderr)
    return 1
