"""Small helpers for the words of user-facing messages."""


def plural(count: float, singular: str, plural_form: str = "") -> str:
    """Returns ``"1 anomaly"``, ``"2 anomalies"``: the count with the right form of the noun.

    Args:
        count: How many.
        singular: The noun for one (``"column"``).
        plural_form: The noun for several; default ``singular + "s"``.
    """
    number = int(count) if float(count).is_integer() else count
    return f"{number} {singular if number == 1 else (plural_form or singular + 's')}"
