"""Extensioned names for a local run's file artifacts, so reports open from their path.

KFP names an output file after the output (``.../validate-data/report``), with no
extension; a browser then shows an HTML report as source. After a local run, each
file artifact gets a hard link (a copy across file systems) with its extension
beside it (``report.html``), and the run's artifact objects point at that name.
The artifact in the pipeline root is untouched, so kfp.local's cache is unchanged.
"""
from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Any

# An artifact's schema title -> extension; ``None`` means "look at the content".
_BY_TYPE = {"system.HTML": ".html", "system.Markdown": ".md", "system.Dataset": None, "system.Artifact": None}
# Output names whose files are text protos.
_TEXT_PROTOS = {"schema", "anomalies"}


def _sniff(path: Path, name: str) -> str:
    """Guesses a file artifact's extension from its first bytes ("" when unsure)."""
    with open(path, "rb") as handle:
        head = handle.read(4096)
    stripped = head.lstrip()
    if head.startswith(b"PAR1"):
        return ".parquet"
    if name in _TEXT_PROTOS:
        return ".pbtxt"
    if stripped[:1] in (b"{", b"["):
        return ".json"
    if stripped[:5].lower() in (b"<!doc", b"<html"):
        return ".html"
    if stripped.startswith((b"apiVersion:", b"kind:")):
        return ".yaml"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:  # binary, unless a character was cut at the end of the read
        text = head[:error.start].decode("utf-8") if error.start >= len(head) - 3 else ""
    lines = text.splitlines() if "\x00" not in text else []
    return ".csv" if lines and "," in lines[0] else ""


def extension_for(artifact: Any, name: str) -> str:
    """Returns the extension a file artifact should carry (``.html``, ``.md``, ``.csv``...), or ""."""
    path = Path(getattr(artifact, "path", "") or "")
    title = getattr(artifact, "schema_title", "")
    if title not in _BY_TYPE or not path.is_file():
        return ""
    return _BY_TYPE[title] or _sniff(path, name)


def link_with_extension(path: str | os.PathLike, extension: str) -> Path:
    """Places ``<path><extension>`` beside ``path`` (a hard link, else a copy) and returns it."""
    source = Path(path)
    target = source.with_name(source.name + extension)
    if target.exists() and os.path.samefile(source, target):
        return target
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    try:
        os.link(source, temporary)
    except OSError:
        shutil.copyfile(source, temporary)
    os.replace(temporary, target)
    return target


def name_files(tasks: dict[str, dict[str, Any]]) -> None:
    """Gives every file artifact of a run its extension, and points the artifact objects at it."""
    for outputs in tasks.values():
        for name, value in outputs.items():
            extension = extension_for(value, name) if hasattr(value, "uri") else ""
            if not extension or str(value.uri).endswith(extension):
                continue
            try:
                value.uri = str(link_with_extension(value.path, extension))
            except OSError:  # a read-only or vanished file: keep the original name
                continue
