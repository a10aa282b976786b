"""What a submission returns."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class SubmissionResult:
    """A submitted run or schedule.

    Attributes:
        target: ``vertex`` or ``kfp``.
        pipeline: The pipeline's name.
        run_name: The run's resource name (Vertex ``projects/.../pipelineJobs/ID``)
            or KFP run id; None when only a schedule was created.
        schedule_name: The schedule's resource name (Vertex) or recurring run id (KFP).
        url: Where to look at it in a console, when known.
        state: The final state when waited for, else None.
        labels: The labels sent.
        parameters: The parameter values sent.
    """

    target: str
    pipeline: str
    run_name: str | None = None
    schedule_name: str | None = None
    url: str | None = None
    state: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Returns the result as a JSON-serializable dict."""
        return asdict(self)
