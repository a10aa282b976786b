"""``kfp-mlops promote``: move a registered model to the next environment, with an approval where required."""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds the ``promote`` subcommand."""
    parser = subparsers.add_parser(
        "promote",
        help="copy a registered model version (and its lineage) into the next environment's registry",
        description="Promote MODEL VERSION from the previous environment on the promotion path into --to, "
        "by copying the verified registry version and its lineage (never by retraining). An environment "
        "with requires_approval needs --approved-by, recorded with the time.",
    )
    parser.add_argument("model_name")
    parser.add_argument("version", help="version or alias in the previous environment (e.g. v3, champion)")
    parser.add_argument("--to", required=True, help="the environment to promote into (e.g. staging, prod)")
    parser.add_argument("--approved-by", default="", help="who approves (required where the environment says so)")
    parser.add_argument("--approved-in-cloud-build", metavar="BUILD_ID", default="",
                        help="take the approver from this Cloud Build build's approval (a trigger with "
                             "--require-approval); needs --project")
    parser.add_argument("--project", default="", help="the Cloud Build project (with --approved-in-cloud-build)")
    parser.add_argument("--reason", default="", help="why, recorded with the approval")
    parser.add_argument("--alias", default="champion", help="alias the version takes there (default: champion)")
    parser.add_argument("--environments", default="", help="environments file (default: $KFP_MLOPS_ENVIRONMENTS "
                                                             "or ./environments.yaml)")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Promotes and prints the outcome as JSON."""
    from kfp_mlops.pipelines.environments import cloud_build_approver, load_environments, promote_between

    environments = load_environments(args.environments)
    approved_by = args.approved_by
    if args.approved_in_cloud_build:
        if not args.project:
            raise ValueError("--approved-in-cloud-build needs --project")
        approved_by = cloud_build_approver(args.project, args.approved_in_cloud_build)
    promotion = promote_between(environments, args.model_name, args.version, args.to,
                                approved_by=approved_by, reason=args.reason, alias=args.alias)
    print(f"promoted {promotion.model_name} {promotion.source_version} ({promotion.source}) -> "
          f"{promotion.version} ({promotion.target})"
          + (f", approved by {promotion.approved_by} at {promotion.approved_at}" if promotion.approved_by else ""))
    print(json.dumps(asdict(promotion), sort_keys=True))
    return 0
