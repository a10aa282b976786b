"""Reading a table of labelled rows from a CSV, with the data contract checked (see :mod:`.data_contract`).

Every capability that reads rows (ingestion, training, evaluation, batch prediction,
monitoring) reads them through here, so one file gets one set of checks and errors.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from kfp_mlops.components.core.data_contract import check_csv_text, check_values
from kfp_mlops.components.core.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)


def bundled_dataset_path() -> str:
    """Returns the path of the palmerpenguins CSV that ships in its wheel.

    The package is located, not imported: its ``__init__`` imports pandas (0.6 s).
    """
    from importlib.util import find_spec

    spec = find_spec("palmerpenguins")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("palmerpenguins is not installed: it ships the bundled dataset")
    return str(Path(next(iter(spec.submodule_search_locations))) / "data" / "penguins.csv")


BUNDLED_LABEL = "species"


def read_csv(path: str | os.PathLike) -> pd.DataFrame:
    """Reads a CSV file with a header, checking the data contract (see :mod:`.contract`).

    Args:
        path: The CSV file.

    Returns:
        The rows as a DataFrame.

    Raises:
        InputError: If the file is missing, unreadable, empty, binary anywhere,
            not comma-separated UTF-8 text, ragged, has duplicate column names,
            infinite numbers or numeric-looking columns holding text, or has a
            header and no rows.
    """
    return read_checked(path)[0]


def read_checked(path: str | os.PathLike) -> tuple[pd.DataFrame, str]:
    """:func:`read_csv` that also returns the file's sha256 (from the same scan).

    A BigQuery source (``bq://project.dataset.table`` or a query) is read through the
    client (:func:`.bigquery.read_frame`); its digest is the SHA-256 of the rows read.
    """
    import pandas as pd

    from kfp_mlops.components.core.bigquery import is_bigquery, read_frame

    if is_bigquery(str(path)):
        frame, digest = read_frame(str(path))
        check_values(frame, path)
        return frame, digest
    path, sha256, _ = check_csv_text(path)
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise InputError(f"data file has no header row: {path}") from None
    except pd.errors.ParserError as error:
        raise InputError(f"{path} is not a well-formed CSV: {str(error).strip().splitlines()[0]}") from None
    except UnicodeDecodeError as error:
        raise InputError(f"{path} is not UTF-8 text (bad byte at offset {error.start})") from None
    if frame.shape[1] < 2:
        raise InputError(
            f"{path} does not look like a CSV with features and a label: "
            f"found {frame.shape[1]} column ({', '.join(map(str, frame.columns))})"
        )
    if frame.empty:
        raise InputError(f"{path} has a header but no data rows")
    check_values(frame, path)
    return frame, sha256


def load_labelled(data_path: str, label: str) -> tuple[pd.DataFrame, str, str, int]:
    """Reads the CSV (or the bundled data), checks the label and drops unlabelled rows.

    Args:
        data_path: The CSV to read; empty means the bundled palmerpenguins data.
        label: The label column; empty means ``species`` for the bundled data.

    Returns:
        The labelled rows, the source path, the label and how many rows had no label.

    Raises:
        InputError: For a bad file or a label column that is missing or empty.
    """
    return load_labelled_with_sha256(data_path, label)[:4]


def load_labelled_with_sha256(data_path: str, label: str) -> tuple[pd.DataFrame, str, str, int, str]:
    """:func:`load_labelled`, plus the file's sha256."""
    source = data_path or bundled_dataset_path()
    label = label or (BUNDLED_LABEL if not data_path else "")
    if not label:
        raise InputError("no label column given: pass the name of the column to predict")
    logger.info(f"reading {source}")
    frame, sha256 = read_checked(source)
    if label not in frame.columns:
        raise InputError(
            f"label column {label!r} not found in {source}; columns are: {', '.join(map(str, frame.columns))}"
        )
    unlabelled = int(frame[label].isna().sum())
    if unlabelled == len(frame):
        raise InputError(f"label column {label!r} in {source} has no values")
    return frame[frame[label].notna()].reset_index(drop=True), str(source), label, unlabelled, sha256



def read_examples(examples_path: str | os.PathLike, label: str, max_examples: int) -> pd.DataFrame:
    """Reads the first ``max_examples`` rows of an eval split (CSV, or Parquet shards), without the label column.

    Raises:
        InputError: If the file is missing, empty, or ``max_examples`` < 1.
    """
    import pandas as pd
    path = Path(examples_path)
    if not path.exists():
        raise InputError(f"examples file not found: {path}")
    if max_examples < 1:
        raise InputError(f"max_examples must be at least 1, got {max_examples}")
    if path.is_dir() or path.suffix == ".parquet":  # the ingestion's splits: only the first rows are read
        from kfp_mlops.components.core.sources import peek

        frame = peek(path, rows=max_examples).sample
    else:
        frame = pd.read_csv(path, nrows=max_examples)
    if frame.empty:
        raise InputError(f"examples file {path} has no rows")
    return frame.drop(columns=[label], errors="ignore")

