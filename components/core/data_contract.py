"""The data contract a CSV must meet before anything is trained on it.

Every check fails with a one-line :class:`InputError` that names the user's
file and, where there is one, the column:

- the file can be opened (a permission error is not a traceback);
- no NUL or other binary control bytes anywhere in the file (pandas silently
  cuts a value at a NUL byte);
- no duplicate or blank column names, read from the raw header before pandas
  renames ``a,a`` to ``a, a.1``;
- no infinite numbers;
- no numeric-looking column that holds text in some rows (it would silently
  become a categorical column).

:func:`preflight` checks what a header and a bounded sample can tell, so the
CLI fails in a second without reading a large file.
"""
from __future__ import annotations

import csv
import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kfp_mlops.components.core.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

CHUNK_BYTES = 1 << 20
SAMPLE_BYTES = 1 << 20  # what the pre-flight reads at most
MIN_ROWS = 20  # labelled rows needed for train, eval and test splits that each hold rows
MIN_NUMERIC_SHARE = 0.5  # a text column whose values are at least half numbers is "numeric-looking"
# C0 control bytes that never appear in a text CSV (tab, LF, VT, FF and CR are allowed).
_SNIFF_BYTES = 64 * 1024
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".zst", ".lz4")
_BINARY_BYTES = bytes(range(0x09)) + bytes(range(0x0E, 0x1B)) + bytes(range(0x1C, 0x20))


def open_binary(path: str | os.PathLike):
    """Opens ``path`` for reading bytes, turning OS errors into a one-line InputError."""
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"data file not found: {path}") from None
    except IsADirectoryError:
        raise InputError(f"data path is a directory, not a CSV file: {path}") from None
    except PermissionError:
        raise InputError(f"cannot read {path}: permission denied") from None
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None


def _binary_error(path: str | os.PathLike, data: bytes, index: int, line: int, offset: int) -> InputError:
    line += data.count(b"\n", 0, index)
    what = "a NUL byte" if data[index] == 0 else f"the control byte 0x{data[index]:02x}"
    return InputError(
        f"{path} is not a CSV text file: it holds binary data ({what} on line {line}, offset {offset + index})"
    )


def _first_binary(data: bytes) -> int:
    """Returns the index of the first binary control byte in ``data``, or -1."""
    if len(data.translate(None, _BINARY_BYTES)) == len(data):
        return -1
    return min(i for i in (data.find(bytes([b])) for b in _BINARY_BYTES) if i >= 0)


def scan_file(path: str | os.PathLike) -> str:
    """Reads the whole file once: checks it holds no binary bytes and returns its sha256.

    Raises:
        InputError: If the file cannot be read, or holds a NUL or control byte
            anywhere (naming the line and offset).
    """
    digest, line, offset = hashlib.sha256(), 1, 0
    with open_binary(path) as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            index = _first_binary(chunk)
            if index >= 0:
                raise _binary_error(path, chunk, index, line, offset)
            digest.update(chunk)
            line += chunk.count(b"\n")
            offset += len(chunk)
    return digest.hexdigest()


def parse_header(path: str | os.PathLike, head: bytes) -> list[str]:
    """Returns the column names of the first record in ``head``, as written (no renaming).

    Raises:
        InputError: For duplicate or blank column names.
    """
    text = head.decode("utf-8-sig", errors="replace")
    names = next(csv.reader(io.StringIO(text)), [])
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InputError(f"{path} has duplicate column names: {', '.join(map(repr, duplicates))}; "
                         "rename them so each column has one name")
    blank = [i + 1 for i, name in enumerate(names) if not name.strip()]
    if blank and len(names) > 1:
        raise InputError(f"{path} has a blank column name at position {blank[0]} of the header")
    return names


def check_values(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    """Checks parsed values: no infinite numbers, no numeric-looking column holding text.

    Raises:
        InputError: Naming the file, the column, and an example value or row.
    """
    import numpy as np
    import pandas as pd
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_float_dtype(column):
            infinite = np.isinf(column.to_numpy(dtype="float64", na_value=np.nan))
            if infinite.any():
                row = int(np.argmax(infinite))
                raise InputError(f"column {name!r} in {path} has {int(infinite.sum())} infinite value(s) "
                                 f"(first on data row {row + 1}: {column.iloc[row]}); "
                                 "use a finite number or leave it empty")
        elif not pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            _check_mixed(column, name, path)


def _check_mixed(column: pd.Series, name: str, path: str | os.PathLike) -> None:
    """Checks a text column on its distinct values, weighted by their counts (hashing is C; rows are not looped)."""
    import numpy as np
    import pandas as pd
    try:
        counts = column.value_counts(dropna=True, sort=False)
    except TypeError:  # unhashable cells (a Parquet list column): only its text cells matter here
        counts = column[column.map(lambda v: isinstance(v, str))].value_counts(sort=False)
    counts = counts[[isinstance(v, str) for v in counts.index]]
    if counts.empty:
        return
    texts = pd.Series(counts.index, dtype=object)
    numbers = pd.to_numeric(texts.str.strip(), errors="coerce")
    numeric = numbers.notna().to_numpy()
    share = float(counts.to_numpy()[numeric].sum() / counts.to_numpy().sum())
    if share == 1.0:
        if np.isinf(numbers.to_numpy(dtype="float64")).any():
            raise InputError(f"column {name!r} in {path} has infinite values; use a finite number or leave it empty")
        return
    if share >= MIN_NUMERIC_SHARE:
        text_values = set(texts[~numeric])
        first = int(np.argmax(column.map(lambda v: isinstance(v, str) and v in text_values).to_numpy()))
        raise InputError(
            f"column {name!r} in {path} looks numeric but {1 - share:.0%} of its values are text "
            f"(e.g. {column.iloc[first]!r} on data row {int(column.index[first]) + 1}); "
            "fix or empty those values, or make the whole column text"
        )


@dataclass
class Preflight:
    """What :func:`preflight` learned from the header and a bounded sample."""

    columns: list[str]
    sample_rows: int
    label_values: int
    complete: bool  # the sample is the whole file
    labels: pd.Series | None = None  # the sample's label values (None when the sample could not be parsed)


def preflight(path: str | os.PathLike, label: str = "", sample_bytes: int = SAMPLE_BYTES) -> Preflight:
    """Checks the header and the first ``sample_bytes`` of a CSV without reading the rest.

    A Parquet source (a file, a folder of shards) and a ``gs://``/``s3://`` URI are
    checked from their schema and first rows (:func:`.sources.preflight_table`).

    Args:
        path: The user's CSV.
        label: The label column to look for; empty skips the label checks.
        sample_bytes: How much of the file to read at most.

    Returns:
        The columns, and how many sample rows (and labelled sample rows) were read.

    Raises:
        InputError: For a missing, unreadable, empty or binary file, a bad
            header, a missing label column, or bad values in the sample.
    """
    import pandas as pd
    if _is_bigquery(str(path)):  # bq:// or a query: its schema and a free sample
        from kfp_mlops.components.core.bigquery import preflight as bigquery_preflight

        return bigquery_preflight(str(path), label)
    from kfp_mlops.components.core.sources import preflight_source

    head = preflight_source(path, sample_bytes + 1, label)
    if not isinstance(head, bytes):  # a table: checked from its schema and first rows
        return head
    if not head:
        raise InputError(f"data file is empty: {path}")
    truncated = len(head) > sample_bytes
    head = head[:sample_bytes]
    index = _first_binary(head)
    if index >= 0:
        raise _binary_error(path, head, index, 1, 0)
    if truncated:  # keep whole rows only (a quoted newline at the cut is rare; the task checks the rest)
        head = head[: head.rfind(b"\n") + 1] or head
    columns = parse_header(path, head)
    if len(columns) < 2:
        raise InputError(f"{path} does not look like a CSV with features and a label: "
                         f"found {len(columns)} column ({', '.join(columns)})")
    if label and label not in columns:
        raise InputError(f"label column {label!r} not found in {path}; columns are: {', '.join(columns)}")
    try:
        sample = pd.read_csv(io.BytesIO(head))
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        if truncated:  # the cut may fall inside a quoted value or a character: the task reads it whole
            return Preflight(columns=columns, sample_rows=0, label_values=0, complete=False)
        raise InputError(f"{path} is not a well-formed CSV: {str(error).strip().splitlines()[0]}") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"data file has no header row: {path}") from None
    if sample.empty:
        raise InputError(f"{path} has a header but no data rows")
    return preflight_sample(path, sample, columns, label, complete=not truncated)


def preflight_sample(path: str | os.PathLike, sample: pd.DataFrame, columns: list[str], label: str,
                     complete: bool) -> Preflight:
    """The pre-flight's checks of a parsed sample (final when the sample is the whole table)."""
    truncated = not complete
    check_values(sample, path)
    labelled = int(sample[label].notna().sum()) if label else len(sample)
    if label and not truncated:  # the sample is the whole file: the label checks are final
        if labelled == 0:
            raise InputError(f"label column {label!r} in {path} has no values")
        check_label(sample[label], path)
        check_rows(labelled, path)
    return Preflight(columns=columns, sample_rows=len(sample), label_values=labelled, complete=not truncated,
                     labels=sample[label].dropna() if label else None)


def _is_bigquery(text: str) -> bool:
    from kfp_mlops.components.core.bigquery import is_bigquery

    return is_bigquery(text)


def check_label(labels: pd.Series, path: str | os.PathLike) -> None:
    """Checks that the label column has two or more distinct values.

    Raises:
        InputError: For a label with a single value, naming the user's file.
    """
    distinct = labels.dropna().unique()
    if len(distinct) < 2:
        raise InputError(
            f"label column {labels.name!r} in {path} has a single value ({distinct[0]!r}) in all "
            f"{int(labels.notna().sum())} labelled rows: a model needs two or more classes or values to learn"
        )


def check_rows(labelled: int, path: str | os.PathLike) -> None:
    """Checks there are enough labelled rows to train on.

    Raises:
        InputError: For fewer than :data:`MIN_ROWS` labelled rows, naming the user's file.
    """
    if labelled < MIN_ROWS:
        raise InputError(f"{path} has {labelled} labelled rows; training needs at least {MIN_ROWS} "
                         "(for train, eval and test splits that each hold rows)")


def model_name_from(path: str | os.PathLike) -> str:
    """Derives a registry-safe model name from a data file's name.

    Accents are folded to ASCII (``Données clients.csv`` -> ``donnees-clients``),
    any other character outside letters, digits, ``.``, ``_`` and ``-`` becomes
    ``-``, and an empty result is ``model``.
    """
    import re
    import unicodedata

    if str(path).startswith("bq://"):  # a BigQuery table: its table id
        path = str(path).rsplit(".", 1)[-1]
    elif _is_bigquery(str(path)):  # a query names nothing
        return "model"
    stem = unicodedata.normalize("NFKD", Path(path).stem).encode("ascii", "ignore").decode()
    name = re.sub(r"[^A-Za-z0-9.-]+", "-", stem.replace("_", "-")).strip("-.").lower()
    return re.sub(r"-{2,}", "-", name)[:128] or "model"


def check_file(path: str | os.PathLike) -> Path:
    """Checks that ``path`` is a non-empty text file before parsing it.

    Raises:
        InputError: If the file is missing, a directory, empty, unreadable or binary.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"data file not found: {path}")
    if path.is_dir():
        raise InputError(f"data path is a directory, not a CSV file: {path}")
    if path.stat().st_size == 0:
        raise InputError(f"data file is empty: {path}")
    with open_binary(path) as handle:  # an unreadable file is a one-line error
        head = handle.read(_SNIFF_BYTES)
    if path.suffix not in COMPRESSED_SUFFIXES and b"\x00" in head:
        raise InputError(f"{path} is not a CSV file: it holds binary data")
    return path


def check_csv_text(path: str | os.PathLike) -> tuple[Path, str, list[str]]:
    """The byte-level checks of a local CSV, before any parser sees it: the file itself, binary bytes
    anywhere, a UTF-8 head, and the header's names (duplicates and blanks, before a parser renames them).

    Returns:
        The checked path, the file's sha256 (from the same scan) and the header's column names.

    Raises:
        InputError: For a missing, unreadable, empty or binary file, a head that is not UTF-8, or a bad header.
    """
    path = check_file(path)  # missing, unreadable, a directory, empty or binary at the start
    sha256 = scan_file(path)  # binary bytes anywhere
    with open(path, "rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # not just a multi-byte char cut at the sniff boundary
            raise InputError(
                f"{path} is not UTF-8 text (bad byte at offset {error.start}); re-save it as UTF-8 CSV") from None
    return path, sha256, parse_header(path, head)
