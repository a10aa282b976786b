"""Logging for the library: one logger per capability, and the handlers that tasks and the CLI install.

Library modules log through ``logging.getLogger(__name__)``; the names sit under
``kfp_mlops.components.<capability>``, so a user turns one capability up or down by name.
The library installs no handler itself: the CLI calls :func:`configure` and a KFP task
configures itself on import (see :func:`configure_task`), so progress reaches the task's log
(Vertex AI and Kubeflow show it in the step's logs) and the console.
"""
from __future__ import annotations

import logging
import os
import sys
from typing import TextIO

ROOT = "kfp_mlops"
KFP_RUNTIME_ENV = "_KFP_RUNTIME"  # set by the command KFP compiles for every lightweight/containerized task
_HANDLER_FLAG = "_kfp_mlops_handler"


class CapabilityFormatter(logging.Formatter):
    """``[capability] message``: ``kfp_mlops.components.training.sklearn_trainer`` prints ``[training]``."""

    def format(self, record: logging.LogRecord) -> str:
        parts = record.name.split(".")
        tag = parts[2] if len(parts) > 2 and parts[1] == "components" else parts[-1]
        prefix = "" if record.levelno == logging.INFO else f"{record.levelname.lower()}: "
        return f"[{tag}] {prefix}{record.getMessage()}" + (
            "\n" + self.formatException(record.exc_info) if record.exc_info else "")


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is at the time of each record (it may be replaced, and closed,
    between two calls of the CLI in one process)."""

    @property
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def configure(level: int = logging.INFO, stream: TextIO | None = None) -> logging.Handler:
    """Sends the library's log records at ``level`` and above to ``stream`` (default: the current stdout), once.

    Returns:
        The handler (an existing one is replaced when the stream differs, else reused with the new level).
    """
    logger = logging.getLogger(ROOT)
    handler = next((h for h in logger.handlers if getattr(h, _HANDLER_FLAG, False)), None)
    same = isinstance(handler, _StdoutHandler) if stream is None else getattr(handler, "stream", None) is stream
    if handler is not None and not same:
        logger.removeHandler(handler)
        handler = None
    if handler is None:
        handler = logging.StreamHandler(stream) if stream is not None else _StdoutHandler()
        setattr(handler, _HANDLER_FLAG, True)
        handler.setFormatter(CapabilityFormatter())
        logger.addHandler(handler)
    handler.setLevel(level)
    logger.setLevel(min(level, logger.level or level))
    return handler


def configure_task() -> None:
    """Inside a KFP task (``$_KFP_RUNTIME`` set), logs at INFO to stdout; elsewhere does nothing.

    The records stop at the library's logger: kfp's executor gives the root logger a handler
    of its own, and a record passed on to it would print twice in the step's log.
    """
    if os.environ.get(KFP_RUNTIME_ENV):
        configure(logging.INFO)
        logging.getLogger(ROOT).propagate = False
