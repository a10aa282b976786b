"""Retries transient HTTP failures with exponential backoff; auth failures are never retried."""
from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")
TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
AUTH_STATUS = frozenset({401, 403})


class AuthError(RuntimeError):
    """The host refused the credentials (HTTP 401 or 403): never retried, reported in one line.

    Attributes:
        status: The HTTP status, 401 or 403.
    """

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def auth_error(error: BaseException, what: str) -> AuthError | None:
    """An :class:`AuthError` for a 401/403 from ``error`` (kfp_server_api, requests, google), else None."""
    status = http_status(error)
    if status not in AUTH_STATUS:
        return None
    response = getattr(error, "response", None)
    reason = str(getattr(error, "reason", "") or getattr(response, "reason", "") or
                 ("Unauthorized" if status == 401 else "Forbidden")).splitlines()[0][:200]
    hint = "check the credentials (token, service account)" if status == 401 else \
        "the credentials lack permission for this (namespace, project or role)"
    return AuthError(f"{what}: the host answered HTTP {status} {reason}: {hint}; not retried", status)


def http_status(error: BaseException) -> int | None:
    """Returns the HTTP status carried by an exception from aiplatform, kfp or requests, if any."""
    for attr in ("code", "status", "status_code"):
        value = getattr(error, attr, None)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def is_transient(error: BaseException) -> bool:
    """True for errors worth retrying: HTTP 408/429/5xx gateway errors and connection failures.

    Authentication and permission errors (401, 403, ``google.auth`` errors) are
    never transient.
    """
    module = type(error).__module__
    if module.startswith("google.auth"):
        return False
    status = http_status(error)
    if status is not None:
        return status in TRANSIENT_STATUS
    names = {cls.__name__ for cls in type(error).__mro__}
    if names & {"ConnectionError", "ConnectTimeout", "ReadTimeout", "MaxRetryError", "NewConnectionError",
                "ProtocolError", "TimeoutError", "ServiceUnavailable", "RetryError"}:
        return True
    return False


def with_retries(
    call: Callable[[], T],
    what: str,
    attempts: int = 5,
    initial_delay: float = 1.0,
    max_delay: float = 30.0,
    sleep: Callable[[float], None] | None = None,
) -> T:
    """Runs ``call``, retrying transient failures with exponential backoff.

    Args:
        call: The request to make (no arguments).
        what: What is being done, for the progress lines.
        attempts: Total tries, at least 1.
        initial_delay: Seconds before the first retry; doubles each time.
        max_delay: Cap on one delay.
        sleep: Sleep function; default ``time.sleep``, looked up at call time.

    Returns:
        What ``call`` returns.

    Raises:
        AuthError: At once on a 401/403, in one line.
        The last error, or the first other non-transient one at once.
    """
    delay = initial_delay
    for attempt in range(1, max(1, attempts) + 1):
        try:
            return call()
        except Exception as error:  # noqa: BLE001 - classified below, re-raised unless transient
            refused = auth_error(error, what)
            if refused is not None:
                raise refused from error
            if attempt >= attempts or not is_transient(error):
                raise
            status = http_status(error)
            print(f"{what}: transient error ({status or type(error).__name__}), retry {attempt}/{attempts - 1} "
                  f"in {delay:.1f} s", flush=True)
            (sleep or time.sleep)(delay)
            delay = min(delay * 2, max_delay)
    raise AssertionError("unreachable")
