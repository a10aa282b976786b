"""Reading tensorflow-metadata protos from files, as text or binary, with clear errors."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

from google.protobuf import message, text_format

from kfp_mlops.components.core.errors import InputError

Proto = TypeVar("Proto", bound=message.Message)


def read_proto(path: str | os.PathLike, proto: Proto, missing: str, invalid: str, binary_first: bool = False) -> Proto:
    """Parses ``path`` into ``proto``, trying text and binary encodings.

    Args:
        path: The file.
        proto: An empty message to fill.
        missing: Error message when the file does not exist; ``{path}`` is filled in.
        invalid: Error message when neither encoding parses; ``{path}`` and ``{error}``
            (the text parser's complaint) are filled in.
        binary_first: Try the binary encoding first (statistics are written binary).

    Returns:
        ``proto``, filled.

    Raises:
        InputError: If the file is missing or parses as neither encoding.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(missing.format(path=path))
    data = path.read_bytes()

    def parse_text() -> str:
        try:
            text_format.Parse(data.decode("utf-8"), proto)
        except (UnicodeDecodeError, text_format.ParseError) as error:
            proto.Clear()
            return str(error) or type(error).__name__
        return ""

    def parse_binary() -> bool:
        try:
            proto.ParseFromString(data)
        except message.DecodeError:
            proto.Clear()
            return False
        return True

    if binary_first:
        if parse_binary():
            return proto
        error = parse_text()
    else:
        error = parse_text()
        if not error or parse_binary():
            return proto
    if error:
        raise InputError(invalid.format(path=path, error=error))
    return proto
