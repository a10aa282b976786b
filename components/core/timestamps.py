"""Date and datetime columns: finding their format, and reading them as numbers.

A column whose every value parses with one ``strptime`` format is a time
column. The schema records that format as TFX does
(``time_domain { string_format: "%Y-%m-%d" }``); statistics carry a histogram
of the parsed values, so drift is a numeric distance between timestamps, not
between hundreds of distinct strings; and the trainers feed the model the
number of days since 1970-01-01 (a float: datetimes keep their time of day).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


# Tried in this order; the first one that parses every value wins (so day-first
# dates are read as such only when month-first ones cannot be).
TIME_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y/%m/%d",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d.%m.%Y",
)
# Custom statistic names: the detected format, and the histogram of days since the epoch.
FORMAT_STAT, DAYS_STAT = "time_format", "days_since_epoch"
_EPOCH = "1970-01-01"


def _parse(values: pd.Series, time_format: str) -> pd.Series:
    import pandas as pd
    return pd.to_datetime(values, format=time_format, errors="coerce")


def detect_format(values: Iterable[str]) -> str | None:
    """Returns the first of :data:`TIME_FORMATS` that parses every value, or None.

    Args:
        values: Distinct non-missing values of a string column.
    """
    import pandas as pd
    strings = pd.Series([str(v).strip() for v in values], dtype=object)
    if strings.empty or not strings.str.match(r"^\d").all():
        return None
    for time_format in TIME_FORMATS:
        if _parse(strings, time_format).notna().all():
            return time_format
    return None


def to_days(values: pd.Series, time_format: str) -> tuple[np.ndarray, pd.Series]:
    """Parses a column into days since 1970-01-01.

    Args:
        values: The raw column (strings; missing values are NaN or None).
        time_format: A ``strptime`` format.

    Returns:
        The days as float64 (NaN where missing or unparsable), and a boolean
        mask of the values present that did not parse.
    """
    import numpy as np
    import pandas as pd
    strings = values.astype(object).where(values.notna(), None)
    strings = strings.map(lambda v: v if v is None else str(v).strip())
    parsed = _parse(strings, time_format)
    bad = parsed.isna() & strings.notna() & (strings != "")
    days = ((parsed - pd.Timestamp(_EPOCH)) / pd.Timedelta(days=1)).to_numpy(dtype="float64", na_value=np.nan)
    return days, bad
