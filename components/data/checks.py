"""The data contract (:mod:`.contract`), checked by the embedded engine over a whole table.

:func:`check_text_file` checks a local CSV's bytes (binary bytes, UTF-8, header)
in one streaming pass; :func:`check_staged` checks the parsed values with one
aggregate query (infinite numbers, numeric-looking text, the label, the rows per
split), so no table is ever loaded into pandas to be checked.
"""
from __future__ import annotations

from kfp_mlops.components.core import queries as Q
from kfp_mlops.components.core.data_contract import MIN_NUMERIC_SHARE, check_csv_text, check_rows
from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.sources import Source


def check_text_file(source: Source) -> str:
    """Checks a local CSV's bytes and header; returns its sha256.

    Raises:
        InputError: For binary bytes anywhere, a head that is not UTF-8, duplicate
            or blank column names, or fewer than two columns.
    """
    path, sha256, names = check_csv_text(source.files[0])
    if len(names) < 2:
        raise InputError(f"{path} does not look like a CSV with features and a label: "
                         f"found {len(names)} column ({', '.join(names)})")
    return sha256


def _text(kind: str) -> bool:
    return kind.startswith("VARCHAR")


def _floating(kind: str) -> bool:
    return kind in ("DOUBLE", "FLOAT") or kind.startswith("DECIMAL")


def check_staged(engine, staged: str, columns: list, uri: str, label: str, fractions: dict[str, float]) -> None:
    """Checks the staged rows of a split (see :meth:`.engine.DuckDBEngine.split`) against the contract.

    Args:
        engine: The :class:`.engine.DuckDBEngine` that staged them.
        staged: The table expression of the staged rows (with their split column).
        columns: The source's :class:`.engine.Column` list.
        uri: The user's path, for messages.
        label: The label column.
        fractions: The share of rows each split should get.

    Raises:
        InputError: One line naming ``uri`` and the column.
    """
    if len(columns) < 2:
        raise InputError(f"{uri} does not look like a table with features and a label: found {len(columns)} column")
    lab = Q.quote(label)
    parts = ["COUNT(*)", f"COUNT({lab})", f"MIN({lab})", f"MAX({lab})"]
    probes = []
    for column in columns:
        c = Q.quote(column.name)
        if _floating(column.type):
            parts.append(f"COUNT(CASE WHEN isinf(CAST({c} AS DOUBLE)) THEN 1 END)")
            probes.append((column.name, "inf"))
        elif _text(column.type):
            number = f"TRY_CAST(TRIM({c}) AS DOUBLE)"
            parts += [f"COUNT({c})", f"COUNT({number})", f"COUNT(CASE WHEN isinf({number}) THEN 1 END)"]
            probes.append((column.name, "text"))
    for name in fractions:
        parts.append(f"COUNT(CASE WHEN {Q.SPLIT_COLUMN} = '{name}' THEN 1 END)")
    answer = list(engine.query(f"SELECT {', '.join(parts)} FROM {staged}")[0])
    total, labelled, low, high = answer[:4]
    position = 4
    if total == 0:
        raise InputError(f"{uri} has a header but no data rows")
    for name, probe in probes:
        if probe == "inf":
            infinite = answer[position]
            position += 1
            if infinite:
                raise InputError(f"column {name!r} in {uri} has {infinite} infinite value(s); "
                                 "use a finite number or leave it empty")
            continue
        present, numeric, infinite = answer[position:position + 3]
        position += 3
        if present and numeric == present and infinite:
            raise InputError(f"column {name!r} in {uri} has infinite values; use a finite number or leave it empty")
        share = numeric / present if present else 0.0
        if MIN_NUMERIC_SHARE <= share < 1.0:
            c = Q.quote(name)
            example = engine.query(f"SELECT {c} FROM {staged} WHERE {c} IS NOT NULL "
                                   f"AND TRY_CAST(TRIM({c}) AS DOUBLE) IS NULL LIMIT 1")[0][0]
            raise InputError(
                f"column {name!r} in {uri} looks numeric but {1 - share:.0%} of its values are text "
                f"(e.g. {example!r}); fix or empty those values, or make the whole column text")
    if labelled == 0:
        raise InputError(f"label column {label!r} in {uri} has no values")
    if low == high:
        raise InputError(f"label column {label!r} in {uri} has a single value ({low!r}) in all {labelled} "
                         "labelled rows: a model needs two or more classes or values to learn")
    check_rows(labelled, uri)
    for name, share in fractions.items():
        if answer[position] == 0 and share > 0:
            raise InputError(f"the {name} split of {uri} is empty: {labelled} labelled rows are too few "
                             f"for a {name} share of {share:.0%}")
        position += 1
