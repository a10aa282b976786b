"""``kfp-mlops plan|apply|status PROJECT.yaml``: a fleet of models from one declarative project file.

    kfp-mlops plan project.yaml      what apply would change (new model, changed settings, schedules)
    kfp-mlops apply project.yaml     train locally (bounded parallelism) or submit and schedule remotely
    kfp-mlops status project.yaml    champion, last run, last drift verdict, next scheduled run

The file is checked against the JSON Schema the package ships
(``kfp_mlops/pipelines/project/schema.json``); ``docs/examples/fleet.yaml`` is
an example. Exit codes: 0 success (``plan --detailed-exitcode``: 2 when
changes are pending); 1 a deployment failed to apply; 2 bad input.
"""
from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds the ``plan``, ``apply`` and ``status`` subcommands."""
    plan = subparsers.add_parser("plan", help="show what `apply` would change for a project file (like Terraform)",
                                 description="Compare a project file with the state of its last apply: "
                                 "+ create, ~ update (settings changed: retrain), ~ schedule, - remove, = unchanged.")
    plan.add_argument("project_file", help="the project YAML")
    plan.add_argument("--json", action="store_true", help="print the changes as JSON")
    plan.add_argument("--detailed-exitcode", action="store_true",
                      help="exit 2 when changes are pending, 0 when there are none (as Terraform does)")
    plan.set_defaults(func=handle_plan)
    apply = subparsers.add_parser("apply", help="train, submit or schedule every changed model of a project file",
                                  description="Apply the plan: local deployments run the training pipeline "
                                  "(at most `parallelism` at once); environments on Vertex AI or Kubeflow get a "
                                  "submitted run and their schedules. Unchanged models are left alone.")
    apply.add_argument("project_file", help="the project YAML")
    apply.add_argument("--parallelism", type=int, default=0, help="local runs at once (default: the file's, or 2)")
    apply.add_argument("--image-tag", default="", help="tag of our images when compiling for remote targets")
    apply.add_argument("--only", action="append", default=[], metavar="MODEL[@PLACE]",
                       help="apply only this model or deployment (repeatable); the rest stays pending")
    apply.set_defaults(func=handle_apply)
    status = subparsers.add_parser("status", help="one table: each model's champion, last run, drift, next run",
                                   description="Each deployment's champion (from its registry), last run and "
                                   "last drift verdict (from the applied state and local runs), and next run.")
    status.add_argument("project_file", help="the project YAML")
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    status.set_defaults(func=handle_status)


def handle_plan(args: argparse.Namespace) -> int:
    """Prints the plan."""
    from kfp_mlops.pipelines.project import load_project, make_plan

    plan = make_plan(load_project(args.project_file))
    if args.json:
        print(json.dumps([{"deployment": c.key, "action": c.action, "details": c.details} for c in plan.changes],
                         indent=2))
    else:
        print("\n".join(plan.lines()))
    return 2 if args.detailed_exitcode and plan.pending else 0


def handle_apply(args: argparse.Namespace) -> int:
    """Applies the plan and prints each deployment's outcome."""
    from kfp_mlops.pipelines.project import apply_project, load_project

    project = load_project(args.project_file)
    if args.parallelism:
        project.parallelism = args.parallelism
    _, outcomes = apply_project(project, {"image_tag": args.image_tag} if args.image_tag else None,
                                only=args.only or None)
    failed = [o for o in outcomes if not o.succeeded]
    if outcomes:
        print(f"Apply: {len(outcomes) - len(failed)} applied, {len(failed)} failed.")
    return 1 if failed else 0


def handle_status(args: argparse.Namespace) -> int:
    """Prints the status table."""
    from kfp_mlops.pipelines.project import load_project, project_status, status_table

    rows = project_status(load_project(args.project_file))
    print(json.dumps([row.to_dict() for row in rows], indent=2) if args.json else "\n".join(status_table(rows)))
    return 0
