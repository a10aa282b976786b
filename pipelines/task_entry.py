"""The local runner's entry point for one task: kfp's executor, plus the failure written as typed JSON.

kfp.local starts a task as ``python -m kfp.dsl.executor_main ARGS``; the runner starts
``python -m kfp_mlops.pipelines.task_entry ARGS`` instead. This runs the same executor,
and when the task raises, writes :class:`~kfp_mlops.pipelines.task_failure.TaskFailure`
(the exception's type, whether it is an ``InputError``, its message) as JSON to the file
named by ``$KFP_MLOPS_ERROR_FILE``, so the runner learns the failure's type from the task
itself, not from its log. The traceback is still printed to the task's log.
"""
from __future__ import annotations

import os
import runpy
import sys
from types import TracebackType

EXECUTOR = "kfp.dsl.executor_main"


def _record(kind: type[BaseException], error: BaseException, traceback: TracebackType | None) -> None:
    path = os.environ.get("KFP_MLOPS_ERROR_FILE")
    if path:
        try:
            from kfp_mlops.pipelines.task_failure import TaskFailure

            TaskFailure.from_exception(error).write(path)
        except Exception as failure:  # noqa: BLE001 - the task's own error matters more than its record
            print(f"could not record the task's failure: {failure}", file=sys.stderr)
    sys.__excepthook__(kind, error, traceback)


def main() -> None:
    """Runs kfp's executor with this process's arguments."""
    sys.excepthook = _record
    sys.argv[0] = EXECUTOR
    runpy.run_module(EXECUTOR, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
