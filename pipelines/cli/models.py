"""``kfp-mlops models``: list, show, promote and roll back registered models, and read their audit trail.

    kfp-mlops models list [NAME]
    kfp-mlops models show NAME [VERSION|ALIAS]      (default: champion)
    kfp-mlops models promote NAME VERSION [--alias champion] [--reason WHY]
    kfp-mlops models rollback NAME [--reason WHY]
    kfp-mlops models history NAME [--json]         (who moved which alias, from/to, when, why)

``--registry`` takes a local folder (default ``./.kfp-mlops/registry``, or
``$KFP_MLOPS_HOME/registry``), ``vertex://PROJECT/LOCATION`` or
``mlflow+http://HOST:PORT``. Who acted is ``$KFP_MLOPS_ACTOR`` (else the login name).
Exit codes: 0 success; 2 bad input (unknown model, version or alias; no
previous champion; a sha256 mismatch), with a one-line cause.
"""
from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds the ``models`` subcommand and its actions."""
    parser = subparsers.add_parser("models", help="list, show, promote and roll back registered models",
                                   description="Inspect and manage the model registry.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--registry", default="",
                         help="local registry folder, vertex://PROJECT/LOCATION or mlflow+http://HOST:PORT "
                              "(default: $KFP_MLOPS_HOME/registry, KFP_MLOPS_HOME defaulting to ./.kfp-mlops)")
        sub.set_defaults(func=handle)
        return sub

    listing = action("list", "list the versions of one model, or of every model")
    listing.add_argument("name", nargs="?", default=None, help="model name (default: every model)")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    show = action("show", "show one version: metrics, lineage, aliases, sha256")
    show.add_argument("name", help="model name")
    show.add_argument("version", nargs="?", default="champion", help="version (v3) or alias (default: champion)")
    show.add_argument("--verify", action="store_true",
                      help="also check the stored files against their sha256 and their signed manifest "
                      "(the signature needs KFP_MLOPS_SIGNING_KEY or KFP_MLOPS_SIGNING_KEY_FILE)")
    promote = action("promote", "point an alias (default: champion) at a version")
    promote.add_argument("name", help="model name")
    promote.add_argument("version", help="version to promote, e.g. v3")
    promote.add_argument("--alias", default="champion", help="alias to move (default: champion)")
    promote.add_argument("--reason", default="", help="why, recorded in the audit trail")
    rollback = action("rollback", "move champion back to the previous champion")
    rollback.add_argument("name", help="model name")
    rollback.add_argument("--reason", default="", help="why, recorded in the audit trail")
    history = action("history", "the audit trail: every promotion, rollback and approval of a model")
    history.add_argument("name", help="model name")
    history.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _registry(args: argparse.Namespace):
    from kfp_mlops.components.registry import open_registry
    from kfp_mlops.pipelines.local_runner import default_registry

    return open_registry(args.registry or str(default_registry()))


def _summary(version) -> str:
    metrics = ", ".join(f"{k}={v:.4f}" for k, v in sorted(version.metrics.items())[:4])
    aliases = ",".join(version.aliases) or "-"
    return f"  {version.name:<20} {version.version:<6} {aliases:<22} {version.created_at:<26} {metrics}"


def _list(args: argparse.Namespace) -> int:
    versions = _registry(args).list(args.name)
    if args.json:
        print(json.dumps([v.to_dict() for v in versions], indent=2))
        return 0
    if not versions:
        print(f"no models registered in {args.registry or _registry(args).uri}")
        return 0
    print(f"  {'model':<20} {'version':<6} {'aliases':<22} {'registered (UTC)':<26} metrics")
    for version in versions:
        print(_summary(version))
    return 0


def _show(args: argparse.Namespace) -> int:
    registry = _registry(args)
    if not args.verify:
        print(json.dumps(registry.get(args.name, args.version).to_dict(), indent=2))
        return 0
    version, verification = registry.integrity(args.name, args.version)
    print(json.dumps(version.to_dict(), indent=2))
    print(f"sha256 verified: {version.sha256}", file=sys.stderr)
    print(("verified: " if verification.signed else "warning: ") + verification.describe(), file=sys.stderr)
    return 0


def _quietly(call, *arguments):
    """Runs a registry call without its progress lines (INFO): the CLI prints its own."""
    import logging

    registry_log = logging.getLogger("kfp_mlops.components.registry")
    level = registry_log.level
    registry_log.setLevel(logging.WARNING)
    try:
        return call(*arguments)
    finally:
        registry_log.setLevel(level)


def _promote(args: argparse.Namespace) -> int:
    registry = _registry(args)
    version = _quietly(lambda: registry.promote(args.name, args.version, args.alias,
                                                reason=args.reason or "promoted by hand"))
    print(f"{version.name} {version.version} is now {args.alias}")
    return 0


def _rollback(args: argparse.Namespace) -> int:
    registry = _registry(args)
    version = _quietly(lambda: registry.rollback(args.name, reason=args.reason or "rolled back by hand"))
    print(f"{version.name}: champion is now {version.version}")
    return 0


def _history(args: argparse.Namespace) -> int:
    from kfp_mlops.components.core.errors import InputError

    registry = _registry(args)
    if not registry.list(args.name):
        raise InputError(f"model {args.name!r} is not in the registry {registry.uri}")
    events = registry.history(args.name)
    if args.json:
        print(json.dumps([event.to_dict() for event in events], indent=2))
        return 0
    if not events:
        print(f"{args.name}: no promotion, rollback or approval recorded")
        return 0
    print(f"  {'when (UTC)':<26} {'action':<9} {'alias':<11} {'from':<6} {'to':<6} {'who':<28} why")
    for event in events:
        print(f"  {event.at[:26]:<26} {event.action:<9} {event.alias:<11} {event.from_version or '-':<6} "
              f"{event.to_version:<6} {event.actor:<28} {event.reason}")
    return 0


ACTIONS = {"list": _list, "show": _show, "promote": _promote, "rollback": _rollback, "history": _history}


def handle(args: argparse.Namespace) -> int:
    """Runs one ``models`` action; returns the exit code (2 with a one-line cause on bad input)."""
    from kfp_mlops.components.core.errors import InputError

    try:
        return ACTIONS[args.action](args)
    except InputError as error:
        print(f"kfp-mlops models {args.action}: error: {error}", file=sys.stderr)
        return 2
