"""Reading a user's YAML file (a project file, an environments file) with one-line errors."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from kfp_mlops.components.core.errors import InputError


def read_yaml_file(path: Path, kind: str, missing_hint: str = "") -> Any:
    """The parsed content of ``path``.

    Args:
        path: The file.
        kind: What the file is, for the missing-file message (``project file``).
        missing_hint: Appended to that message, e.g. how to point at another file.

    Raises:
        InputError: ``<kind> not found: <path>``, or ``<path>: not a readable YAML file (...)``.
    """
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{kind} not found: {path}{missing_hint}") from None
    except (OSError, yaml.YAMLError) as error:
        raise InputError(f"{path}: not a readable YAML file ({str(error).splitlines()[0]})") from None
