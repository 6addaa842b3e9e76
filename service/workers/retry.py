"""Retry a short database transaction on transient errors (lock timeouts, deadlocks, a
restarted server), so one hiccup does not end a worker's loop."""

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

T = TypeVar("T")
log = logging.getLogger("hwsearch.worker")


def is_transient(err: BaseException) -> bool:
    return (
        isinstance(err, OperationalError)
        or (isinstance(err, DBAPIError) and err.connection_invalidated)
        or "deadlock detected" in str(err)
    )


def retry_transient(fn: Callable[[], T], attempts: int = 5, first_wait_s: float = 0.5) -> T:
    for attempt in range(attempts):
        try:
            return fn()
        except DBAPIError as err:
            if not is_transient(err) or attempt == attempts - 1:
                raise
            log.warning("database error, retrying: %s", str(err).splitlines()[0])
            time.sleep(first_wait_s * 2**attempt)
    raise AssertionError("unreachable")
