"""Chunked CSV reader: record batches of bounded size, with types that hold for the whole file.

The file is cut into blocks of about ``block_size`` bytes at row boundaries
(quote-aware), and each block is parsed by pyarrow's multi-threaded
``read_csv`` on a prefetch thread, so parsing uses every core while memory
stays bounded by a few blocks. Column types come from the first block. A later block can hold a
value that does not fit (``2.5`` in a column that looked like integers, ``n/a``
in a float column); the reader then widens that column's type (int -> float ->
string) and starts over, so every batch of one pass has the same schema.
Bad files raise :class:`InputError` with a message that names the file, the
line or the column.
"""
from __future__ import annotations

import csv
import logging
import os
import queue
import re
import threading
from pathlib import Path
from typing import Generator, Iterator

import pyarrow as pa
import pyarrow.csv as pacsv

from kfp_mlops.components.core.data_contract import COMPRESSED_SUFFIXES, check_file, scan_file
from kfp_mlops.components.core.errors import InputError

logger = logging.getLogger(__name__)

BLOCK_SIZE = 16 << 20  # bytes of CSV text per block: memory stays bounded whatever the file size
_SNIFF_BYTES = 64 * 1024
_WIDER = {"int64": pa.float64(), "double": pa.string(), "bool": pa.string()}
_CONVERSION = re.compile(r"In CSV column #(\d+): CSV conversion error to (\w+)")


def _base_type(inferred: pa.DataType) -> pa.DataType:
    """Maps an inferred Arrow type onto the four types statistics know: int, float, bool, string."""
    if pa.types.is_integer(inferred):
        return pa.int64()
    if pa.types.is_floating(inferred) or pa.types.is_null(inferred):
        return pa.float64()  # an all-empty first block: try numbers first, widen on failure
    if pa.types.is_boolean(inferred):
        return pa.bool_()
    return pa.string()


def _ragged_line(path: Path, expected: int) -> tuple[int, int]:
    """Returns (line number, field count) of the first row whose field count differs."""
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle)
        for row in reader:
            if row and len(row) != expected:
                return reader.line_num, len(row)
    return 0, 0


def _bad_utf8(path: Path) -> tuple[int, int]:
    """Returns (line number, byte offset) of the first byte that is not UTF-8."""
    line, offset, tail = 1, 0, b""
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            data = tail + chunk
            try:
                data.decode("utf-8")
                good = len(data)
            except UnicodeDecodeError as error:
                if error.end < len(data) or len(chunk) == 0:
                    good = error.start
                    line += data[:good].count(b"\n")
                    return line, offset + good
                good = error.start  # a multi-byte character cut at the chunk boundary
            line += data[:good].count(b"\n")
            offset += good
            tail = data[good:]
    return line, offset


def _row_boundary(buffer: bytes) -> int:
    """Returns the offset just after the last newline that ends a row (0 when there is none).

    ``buffer`` starts at a row boundary, so a newline ends a row when an even
    number of quote characters precede it (``""`` escapes keep the parity).
    """
    quotes = buffer.count(b'"')
    position = buffer.rfind(b"\n")
    while position >= 0:
        if (quotes - buffer.count(b'"', position)) % 2 == 0:
            return position + 1
        position = buffer.rfind(b"\n", 0, position)
    return 0


def _prefetch(reader, depth: int = 2) -> Iterator:
    """Iterates ``reader`` on a worker thread, so parsing overlaps the consumer's work.

    At most ``depth`` parsed items wait in the queue, so memory stays bounded.
    A parse error is raised in the consumer's thread.
    """
    batches: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def hand_over(item: object) -> bool:
        """Queues one item; False when the consumer has gone."""
        while not stop.is_set():
            try:
                batches.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in reader:
                if not hand_over(batch):
                    return
            hand_over(done)
        except Exception as error:  # noqa: BLE001 - handed to the consumer
            hand_over(error)

    worker = threading.Thread(target=produce, name="csv-prefetch", daemon=True)
    worker.start()
    try:
        while (item := batches.get()) is not done:
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        stop.set()


class CsvBatches:
    """One pass over a CSV file as Arrow tables of bounded size, with stable column types.

    Args:
        path: The CSV file, with a header row (``.gz`` and ``.bz2`` are read too).
        block_size: Bytes of CSV text per parsed block.
    """

    def __init__(self, path: str | os.PathLike, block_size: int = BLOCK_SIZE):
        self.path = check_file(path)
        self.block_size = block_size
        self.quoted_newlines = False  # set when a quoted value spans lines
        self._header = b""
        self._first: pa.Table | None = None
        self.column_types = self._infer_types()

    @property
    def columns(self) -> list[str]:
        """Column names in file order."""
        return list(self.column_types)

    def _blocks(self) -> Generator[bytes, None, None]:
        """Yields the file's rows in blocks of about ``block_size`` bytes; sets the header first."""
        carry, header = b"", None
        with pa.input_stream(str(self.path)) as stream:
            while True:
                data = stream.read(self.block_size)
                buffer = carry + data
                if not data:
                    if header is None:
                        self._header, header = buffer, buffer
                    elif buffer.strip():
                        yield buffer
                    return
                if header is None:
                    end = _row_boundary(buffer[: buffer.find(b"\n") + 1] if b"\n" in buffer else b"")
                    if not end:
                        carry = buffer
                        continue
                    self._header, header, buffer = buffer[:end], buffer[:end], buffer[end:]
                cut = _row_boundary(buffer)
                if cut:
                    yield buffer[:cut]
                carry = buffer[cut:]

    def _parse(self, block: bytes, column_types: dict[str, pa.DataType] | None) -> pa.Table:
        if b"\x00" in block:  # pyarrow would read a NUL as part of a value
            if self.path.suffix not in COMPRESSED_SUFFIXES:
                scan_file(self.path)  # raises, naming the line and offset
            raise InputError(f"{self.path} is not a CSV file: it holds binary data (a NUL byte)")
        return pacsv.read_csv(
            pa.BufferReader(self._header + block),
            parse_options=pacsv.ParseOptions(newlines_in_values=self.quoted_newlines),
            convert_options=pacsv.ConvertOptions(column_types=column_types, strings_can_be_null=True),
        )

    def _infer_types(self) -> dict[str, pa.DataType]:
        blocks = self._blocks()
        first = next(blocks, b"")
        blocks.close()
        try:
            table = self._parse(first, None)
        except pa.ArrowInvalid as error:
            if self._needs_quoted_newlines(error):
                return self._infer_types()
            raise self._explain(error) from None
        schema = table.schema
        names = schema.names
        if not names:
            raise InputError(f"{self.path} has no header row")
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise InputError(f"{self.path} has duplicate column names: {', '.join(duplicates)}")
        blank = [i + 1 for i, name in enumerate(names) if not name.strip()]
        if blank:
            raise InputError(f"{self.path} has a blank column name at position {blank[0]} of the header")
        for field in schema:
            if pa.types.is_binary(field.type):
                line, offset = _bad_utf8(self.path)
                raise InputError(
                    f"{self.path} is not UTF-8 text: column {field.name!r} has a bad byte "
                    f"at line {line} (offset {offset}); re-save the file as UTF-8 CSV"
                )
        types = {field.name: _base_type(field.type) for field in schema}
        if all(field.type == types[field.name] for field in schema):
            self._first = table  # the inferred types are final: no second parse of this block
        return types

    def _needs_quoted_newlines(self, error: Exception) -> bool:
        """True (and switches the parser) when a field count error comes from a quoted newline."""
        message = str(error)
        counts = re.search(r"Expected (\d+)", message)
        if self.quoted_newlines or "columns, got" not in message or counts is None:
            return False
        expected = int(counts.group(1))
        if _ragged_line(self.path, expected)[0]:
            return False  # a truly ragged row
        self.quoted_newlines = True
        return True

    def _explain(self, error: Exception) -> InputError:
        """Turns a pyarrow parse error into an InputError that names the line or column."""
        message = str(error)
        counts = re.search(r"Expected (\d+)", message)
        if counts is not None and "columns, got" in message:
            expected = int(counts.group(1))
            line, found = _ragged_line(self.path, expected)
            where = f"line {line} has {found} fields" if line else message
            return InputError(
                f"{self.path} is not a well-formed CSV: {where}, but the header has {expected} columns"
            )
        if "invalid UTF8" in message or "UTF-8" in message:
            line, offset = _bad_utf8(self.path)
            return InputError(
                f"{self.path} is not UTF-8 text: bad byte at line {line} (offset {offset}); "
                "re-save the file as UTF-8 CSV"
            )
        return InputError(f"{self.path} is not a readable CSV: {message}")

    def _tables(self) -> Iterator[pa.Table]:
        first, self._first = self._first, None
        for index, block in enumerate(self._blocks()):
            yield first if index == 0 and first is not None else self._parse(block, self.column_types)

    def read(self) -> Iterator[tuple[bool, pa.Table]]:
        """Yields ``(restart, table)`` pairs over the whole file, one table per block.

        ``restart`` is True on the first batch of a new pass, after a column's
        type had to be widened: the consumer drops what it accumulated so far.
        """
        restart = False
        for _ in range(2 * len(self.column_types) + 2):
            try:
                for table in _prefetch(self._tables()):
                    yield restart, table
                    restart = False
                return
            except pa.ArrowInvalid as error:
                if self._needs_quoted_newlines(error):
                    restart = True
                    continue
                match = _CONVERSION.search(str(error))
                if not match or "UTF8" in str(error):
                    raise self._explain(error) from None
                name = self.columns[int(match.group(1))]
                self.column_types[name] = _WIDER.get(str(self.column_types[name]), pa.string())
                logger.info(f"column {name!r} holds values that are not "
                      f"{match.group(2)}; reading it as {self.column_types[name]}")
                restart = True
        raise InputError(f"{self.path}: could not settle the column types")
