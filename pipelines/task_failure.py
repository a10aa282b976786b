"""A failed task's error, as a type that crosses the process boundary (JSON), not a string to search."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class TaskFailure:
    """Why a task failed.

    Attributes:
        kind: The exception's class name (``InputError``, ``ChecksumError``, ``PromotionError``...).
        module: The module that defines it.
        input_error: Whether it is an ``InputError`` (bad user input: the CLI exits 2).
        message: The first line of its message.
        classes: The names of its classes, most derived first (``ChecksumError``, ``InputError``, ...).
    """

    kind: str
    module: str
    input_error: bool
    message: str
    classes: tuple[str, ...] = ()

    @classmethod
    def from_exception(cls, error: BaseException) -> TaskFailure:
        """The failure that ``error`` describes."""
        from kfp_mlops.components.core.errors import InputError

        lines = str(error).strip().splitlines()
        return cls(type(error).__name__, type(error).__module__, isinstance(error, InputError),
                   lines[0] if lines else type(error).__name__,
                   tuple(c.__name__ for c in type(error).__mro__ if c not in (object, BaseException)))

    def is_a(self, name: str) -> bool:
        """Whether the error is an instance of the class called ``name`` (subclasses included)."""
        return name in self.classes

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"

    def write(self, path: str | os.PathLike) -> None:
        """Writes the failure as JSON."""
        Path(path).write_text(json.dumps(asdict(self)), encoding="utf-8")

    @classmethod
    def read(cls, path: str | os.PathLike) -> TaskFailure | None:
        """Reads a failure written by :meth:`write`; None when the file is missing or unreadable."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(str(data["kind"]), str(data["module"]), bool(data["input_error"]), str(data["message"]),
                       tuple(data.get("classes", ())))
        except (OSError, ValueError, KeyError, TypeError):
            return None
