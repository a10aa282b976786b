"""Where the data lives: one resolver for every step that reads rows.

A data path is any of:

- a CSV file (``.csv``, or any text file with a header row);
- a Parquet file (``.parquet``/``.pq``, or any file that starts with ``PAR1``);
- a folder of Parquet shards (read recursively; names starting with ``.`` or ``_`` are skipped);
- the same on object storage: ``gs://`` (gcsfs) or ``s3://`` (s3fs), through fsspec.
  Credentials and endpoints come from the clients' own settings (Application Default
  Credentials, ``AWS_*`` variables, ``FSSPEC_S3_ENDPOINT_URL`` or ``STORAGE_EMULATOR_HOST``).

:func:`resolve` answers what a path holds without reading it, :func:`read_table` reads
it into pandas (with the data contract checked), :func:`peek` reads the schema and a
bounded sample only, and :func:`sample_table` reads a seeded sample of a table that is
too big for memory. The embedded engine (:mod:`.engine`) scans a :class:`Source` itself.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kfp_mlops.components.core.errors import InputError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

logger = logging.getLogger(__name__)

REMOTE_PREFIXES = ("gs://", "gcs://", "s3://", "s3a://")
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
PARQUET_MAGIC = b"PAR1"
SAMPLE_SEED = 0
# A table read whole into pandas takes about this many bytes per cell (a float64, or a
# pointer plus a short string); the sklearn trainer samples above a quarter of memory.
BYTES_PER_CELL = 16


@dataclass(frozen=True)
class Source:
    """A resolved data path: what it holds and where its files are.

    Attributes:
        uri: The path as the user gave it.
        kind: ``csv`` or ``parquet``.
        files: The files to read: the file itself, or a folder's shards in name order.
        protocol: ``""`` for local files, else the fsspec protocol (``gs``, ``s3``).
    """

    uri: str
    kind: str
    files: tuple[str, ...] = field(default_factory=tuple)
    protocol: str = ""

    @property
    def remote(self) -> bool:
        """True for object storage."""
        return bool(self.protocol)

    @property
    def name(self) -> str:
        """The file or folder name, for messages and statistics."""
        return self.uri.rstrip("/").rsplit("/", 1)[-1] or self.uri


def is_remote(path: str | os.PathLike) -> bool:
    """True when ``path`` is a ``gs://`` or ``s3://`` URI."""
    return str(path).startswith(REMOTE_PREFIXES)


def filesystem(uri: str):
    """Returns ``(fsspec filesystem, path without protocol)`` for a remote URI.

    Raises:
        InputError: If the storage client (gcsfs or s3fs) is not installed.
    """
    import fsspec

    try:
        return fsspec.core.url_to_fs(uri)
    except ImportError as error:
        raise InputError(f"cannot read {uri}: {error}".splitlines()[0]) from None


def _protocol(uri: str) -> str:
    scheme = uri.split("://", 1)[0]
    return {"gcs": "gs", "s3a": "s3"}.get(scheme, scheme)


def _is_shard(name: str) -> bool:
    base = name.rstrip("/").rsplit("/", 1)[-1]
    return not base.startswith((".", "_")) and base.endswith(PARQUET_SUFFIXES)


def _kind_of_file(name: str, head: bytes) -> str:
    return "parquet" if name.endswith(PARQUET_SUFFIXES) or head[:4] == PARQUET_MAGIC else "csv"


def _resolve_remote(uri: str) -> Source:
    fs, path = filesystem(uri)
    protocol = _protocol(uri)
    try:
        info = fs.info(path)
    except FileNotFoundError:
        raise InputError(f"data file not found: {uri}") from None
    except Exception as error:  # noqa: BLE001 - any client error is one line naming the URI
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InputError(f"cannot read {uri}: {reason}") from None
    if info.get("type") == "directory":
        shards = sorted(p for p in fs.find(path) if _is_shard(p.split(path.rstrip("/"), 1)[-1]))
        if not shards:
            raise InputError(f"{uri} is a folder with no Parquet files (*.parquet) in it")
        return Source(uri, "parquet", tuple(f"{protocol}://{p}" for p in shards), protocol)
    if not info.get("size"):
        raise InputError(f"data file is empty: {uri}")
    with fs.open(path, "rb") as handle:
        head = handle.read(4)
    return Source(uri, _kind_of_file(path, head), (f"{protocol}://{path}",), protocol)


def resolve(path: str | os.PathLike) -> Source:
    """Says what ``path`` holds (CSV or Parquet, one file or shards) without reading its rows.

    Raises:
        InputError: If nothing is there, a folder holds no Parquet files, or a file is empty.
    """
    uri = str(path)
    if is_remote(uri):
        return _resolve_remote(uri)
    local = Path(uri)
    if local.is_dir():
        try:
            shards = sorted(str(p) for p in local.rglob("*") if p.is_file()
                            and _is_shard(p.relative_to(local).as_posix())
                            and not any(part.startswith((".", "_")) for part in p.relative_to(local).parts))
        except PermissionError:
            raise InputError(f"cannot read {uri}: permission denied") from None
        if not shards:
            raise InputError(f"data path is a directory with no Parquet files (*.parquet) in it: {uri}")
        return Source(uri, "parquet", tuple(shards))
    if not local.exists():
        raise InputError(f"data file not found: {uri}")
    try:
        with open(local, "rb") as handle:
            head = handle.read(4)
    except PermissionError:
        raise InputError(f"cannot read {uri}: permission denied") from None
    return Source(uri, _kind_of_file(uri, head), (uri,))


def parquet_dataset(source: Source):
    """Returns a ``pyarrow.dataset.Dataset`` over a Parquet source's shards (streamed, not loaded).

    Raises:
        InputError: If a shard is not a Parquet file, or the shards' schemas disagree.
    """
    import pyarrow as pa
    import pyarrow.dataset as ds

    fs, files = None, list(source.files)
    if source.remote:
        fs = filesystem(source.uri)[0]
        files = [f.split("://", 1)[1] for f in files]
    try:
        return ds.dataset(files, format="parquet", filesystem=fs)
    except (pa.ArrowInvalid, OSError) as error:
        raise InputError(f"{source.uri} is not a readable Parquet dataset: {str(error).splitlines()[0]}") from None


def row_count(source: Source) -> int | None:
    """Rows in a Parquet source, from the files' footers (None for CSV, which has no footer)."""
    if source.kind != "parquet":
        return None
    return sum(fragment.metadata.num_rows for fragment in parquet_dataset(source).get_fragments())


def _checked(frame: pd.DataFrame, source: Source, whole: bool = True) -> pd.DataFrame:
    from kfp_mlops.components.core.data_contract import check_values

    if whole and frame.shape[1] < 2:
        raise InputError(f"{source.uri} does not look like a table with features and a label: "
                         f"found {frame.shape[1]} column ({', '.join(map(str, frame.columns))})")
    if frame.empty:
        raise InputError(f"{source.uri} has a header but no data rows")
    check_values(frame, source.uri)
    return frame


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    # Dictionary and large string columns become plain object columns, as read_csv gives.
    return table.to_pandas(strings_to_categorical=False, types_mapper=None)


def read_table(path: str | os.PathLike, columns: list[str] | None = None) -> pd.DataFrame:
    """Reads a CSV or Parquet source whole into pandas, with the data contract checked.

    Args:
        path: A CSV or Parquet file, a folder of Parquet shards, or a ``gs://``/``s3://`` URI.
        columns: Read only these columns (Parquet); None reads all.

    Raises:
        InputError: For a missing, empty or unreadable source, or bad values (see :mod:`.contract`).
    """
    import pandas as pd
    import pyarrow as pa
    source = resolve(path)
    if source.kind == "csv" and not source.remote:
        from kfp_mlops.components.core.tables import read_csv

        frame = read_csv(source.files[0])
        return frame[columns] if columns else frame
    if source.kind == "csv":
        fs, remote_path = filesystem(source.uri)
        with fs.open(remote_path, "rb") as handle:
            frame = pd.read_csv(handle, usecols=columns)
        return _checked(frame, source, whole=not columns)
    try:
        table = parquet_dataset(source).to_table(columns=columns)
    except (pa.ArrowInvalid, OSError) as error:
        raise InputError(f"cannot read {source.uri}: {str(error).splitlines()[0]}") from None
    return _checked(_to_pandas(table), source, whole=not columns)


def iter_frames(path: str | os.PathLike, chunk_rows: int = 100_000):
    """Yields a source's rows as DataFrames of at most ``chunk_rows`` rows, in order (memory stays bounded).

    A local CSV is checked whole against the data contract first (one-line errors before any output).

    Raises:
        InputError: For a missing, empty or unreadable source.
    """
    import pandas as pd
    import pyarrow as pa
    source = resolve(path)
    if source.kind == "csv":
        if not source.remote:
            from kfp_mlops.components.core.tables import read_csv

            read_csv(source.files[0])  # fail early, with a clear message, on a bad file
            yield from pd.read_csv(source.files[0], chunksize=chunk_rows)
            return
        fs, remote_path = filesystem(source.uri)
        with fs.open(remote_path, "rb") as handle:
            yield from pd.read_csv(handle, chunksize=chunk_rows)
        return
    try:
        for batch in parquet_dataset(source).to_batches(batch_size=chunk_rows):
            if batch.num_rows:
                yield _to_pandas(pa.Table.from_batches([batch]))
    except (pa.ArrowInvalid, OSError) as error:
        raise InputError(f"cannot read {source.uri}: {str(error).splitlines()[0]}") from None


@dataclass
class Sampling:
    """How many rows a reader took from a table, and how (recorded in the model's metadata)."""

    total_rows: int
    rows: int
    policy: str = "all rows"
    seed: int = SAMPLE_SEED

    def as_metadata(self) -> dict:
        """The sampling, as artifact metadata."""
        return {"sample_policy": self.policy, "sample_rows": self.rows, "source_rows": self.total_rows,
                "sample_seed": self.seed}


def default_max_rows(columns: int) -> int:
    """Rows whose pandas copy fits in a quarter of this machine's memory."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        memory = 8 << 30
    return max(10_000, memory // 4 // (BYTES_PER_CELL * max(columns, 1)))


def sample_table(path: str | os.PathLike, max_rows: int | None = None,
                 seed: int = SAMPLE_SEED) -> tuple[pd.DataFrame, Sampling]:
    """Reads a table whole, or a seeded uniform sample of ``max_rows`` rows when it is bigger.

    The policy: a table of at most ``max_rows`` rows is read whole. A larger one is
    sampled by the embedded engine (DuckDB's reservoir sample, ``REPEATABLE(seed)``),
    which streams the source and keeps only the sample in memory. ``max_rows``
    defaults to :func:`default_max_rows` (a quarter of the machine's memory).

    Returns:
        The rows, and the :class:`Sampling` that says what was read.
    """
    source = resolve(path)
    total = row_count(source)
    width = len(peek(source, rows=1).columns) if total is not None else 1
    limit = max_rows or default_max_rows(width)
    if total is None or total <= limit:
        frame = read_table(path)
        return frame, Sampling(total_rows=len(frame), rows=len(frame), seed=seed)
    from kfp_mlops.components.core.engine import DuckDBEngine

    logger.info("sampling %d of %d rows of %s (seed %d)", limit, total, source.uri, seed)
    table = DuckDBEngine().sample(source, limit, seed)
    frame = _checked(_to_pandas(table), source)
    return frame, Sampling(total_rows=total, rows=len(frame), seed=seed,
                           policy=f"uniform reservoir sample of {limit} rows (DuckDB, REPEATABLE({seed}))")


@dataclass
class Peek:
    """A source's columns and a bounded sample of its first rows."""

    source: Source
    columns: list[str]
    sample: pd.DataFrame
    complete: bool  # the sample is the whole table


def peek(path: str | os.PathLike | Source, rows: int = 10_000) -> Peek:
    """Reads a Parquet source's schema and at most ``rows`` of its first rows (never the whole table).

    CSV sources are peeked by :func:`.contract.preflight`, which also checks the raw bytes.

    Raises:
        InputError: If the source is missing, not Parquet, or unreadable.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq
    source = path if isinstance(path, Source) else resolve(path)
    if source.kind != "parquet":
        raise InputError(f"{source.uri} is not Parquet")
    fs = filesystem(source.uri)[0] if source.remote else None
    batches, taken, schema, opened = [], 0, None, 0
    try:
        for name in source.files:  # shard by shard, so a later shard is never opened
            with fs.open(name.split("://", 1)[1], "rb") if fs else open(name, "rb") as handle:
                shard = pq.ParquetFile(handle)
                schema, opened = schema or shard.schema_arrow, opened + 1
                for batch in shard.iter_batches(batch_size=min(rows, 65_536)):
                    batches.append(batch)
                    taken += batch.num_rows
                    if taken >= rows:
                        break
            if taken >= rows:
                break
    except (pa.ArrowInvalid, OSError) as error:
        raise InputError(f"cannot read {source.uri}: {str(error).splitlines()[0]}") from None
    if schema is None:  # resolve() never gives a Parquet source no files
        raise InputError(f"{source.uri} is a folder with no Parquet files (*.parquet) in it")
    table = pa.Table.from_batches(batches, schema=schema).slice(0, rows)
    complete = taken < rows  # every shard was read to its end
    return Peek(source, list(schema.names), _to_pandas(table), complete)


def preflight_source(path: str | os.PathLike, head_bytes: int, label: str = ""):
    """The pre-flight's read: the first ``head_bytes`` of a CSV, or a Parquet source's :class:`.contract.Preflight`.

    Raises:
        InputError: For a missing or unreadable source, or (Parquet) a bad schema or sample.
    """
    from kfp_mlops.components.core.data_contract import open_binary

    uri = str(path)
    remote, local = is_remote(uri), Path(uri)
    if not remote and not local.is_dir():
        with open_binary(uri) as handle:
            head = handle.read(head_bytes)
        if head[:4] != PARQUET_MAGIC:
            return head
    source = resolve(uri)
    if source.kind == "csv":
        fs, remote_path = filesystem(uri)
        with fs.open(remote_path, "rb") as handle:
            return handle.read(head_bytes)
    return preflight_table(source, label)


def preflight_table(source: Source, label: str = "", rows: int = 10_000):
    """Checks a Parquet source from its schema and first ``rows`` rows (see :func:`.contract.preflight`)."""
    from kfp_mlops.components.core.data_contract import preflight_sample

    seen = peek(source, rows)
    if len(seen.columns) < 2:
        raise InputError(f"{source.uri} does not look like a table with features and a label: "
                         f"found {len(seen.columns)} column ({', '.join(seen.columns)})")
    if label and label not in seen.columns:
        raise InputError(f"label column {label!r} not found in {source.uri}; columns are: {', '.join(seen.columns)}")
    if seen.sample.empty:
        raise InputError(f"{source.uri} has no data rows")
    return preflight_sample(source.uri, seen.sample, seen.columns, label, seen.complete)


def write_parquet(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    """Writes a DataFrame as one Parquet file (``path`` may be a folder: ``part-0.parquet`` in it)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    target = Path(path)
    if not str(target).endswith(PARQUET_SUFFIXES):
        target.mkdir(parents=True, exist_ok=True)
        target = target / "part-0.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), target)
