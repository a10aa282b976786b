"""The audit trail of stage transitions: who moved which alias from which version to which, when, and why.

Every backend records one :class:`AuditEvent` per promotion, rollback and
approval, beside its own records (the local index, MLflow registered-model
tags, the Vertex model's description), and :meth:`Registry.history` reads
them back, oldest first.

Who acted comes from the environment (:func:`current_actor`):
``$KFP_MLOPS_ACTOR`` when set (CI sets it to the build's service account or the
person who triggered it), else ``$GOOGLE_SERVICE_ACCOUNT``, else the login name.
"""
from __future__ import annotations

import getpass
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

ACTOR_VARIABLES = ("KFP_MLOPS_ACTOR", "GOOGLE_SERVICE_ACCOUNT")
PROMOTE, ROLLBACK, APPROVE = "promote", "rollback", "approve"


def current_actor() -> str:
    """Who is acting: ``$KFP_MLOPS_ACTOR``, ``$GOOGLE_SERVICE_ACCOUNT``, the login name, or ``unknown``."""
    for variable in ACTOR_VARIABLES:
        if os.environ.get(variable):
            return os.environ[variable]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def utc_now() -> str:
    """The current UTC time, ISO 8601 to the microsecond (events in one second keep their order)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass
class AuditEvent:
    """One recorded stage transition.

    Attributes:
        model: The registered model.
        action: ``promote``, ``rollback`` or ``approve``.
        alias: The alias that moved (``champion``...).
        from_version: The version that held the alias before (``""``: none).
        to_version: The version that holds it after.
        actor: Who did it (:func:`current_actor`, or the named approver).
        at: When, ISO 8601 UTC.
        reason: Why: the gate report's verdict, or the reason given by hand.
        details: Anything else (the source environment of a copy, the approver...).
    """

    model: str
    action: str
    alias: str
    from_version: str
    to_version: str
    actor: str = ""
    at: str = ""
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.actor = self.actor or current_actor()
        self.at = self.at or utc_now()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditEvent:
        """Reads a :meth:`to_dict` record back (unknown keys go to ``details``)."""
        known = {k: data[k] for k in ("model", "action", "alias", "from_version", "to_version", "actor", "at",
                                      "reason") if k in data}
        extra = {k: v for k, v in data.items() if k not in known and k != "details"}
        return cls(**{"model": "", "action": "", "alias": "", "from_version": "", "to_version": "", **known},
                   details={**dict(data.get("details") or {}), **extra})

    def describe(self) -> str:
        """One line: ``<at> <actor> promote champion v1 -> v2: <reason>``."""
        move = f"{self.from_version or 'none'} -> {self.to_version or 'none'}"
        reason = f": {self.reason}" if self.reason else ""
        return f"{self.at} {self.actor} {self.action} {self.alias} {move}{reason}"


def sort_events(events: list[AuditEvent]) -> list[AuditEvent]:
    """Events oldest first."""
    return sorted(events, key=lambda event: event.at)
