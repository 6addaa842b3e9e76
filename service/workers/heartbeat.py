"""The worker's heartbeat thread: refreshes `hws_workers.last_seen` every `interval_s`.

Its claims and tasks stay valid while it beats; a worker that stops beating for the lease
(SIGKILL, a lost machine) loses them to the others. It also notices when the process that
started the worker has gone (`hwsearch serve` killed) and asks the worker to stop.
"""

import logging
import os
import threading
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from service import crud

log = logging.getLogger("hwsearch.worker")


class Heartbeat(threading.Thread):
    def __init__(
        self,
        sessions: sessionmaker[Session],
        worker_id: int,
        interval_s: float,
        on_orphaned: Callable[[], None] | None = None,
        parent_pid: int | None = None,
    ):
        super().__init__(name=f"hwsearch-heartbeat-{worker_id}", daemon=True)
        self._sessions, self._worker_id, self._interval_s = sessions, worker_id, interval_s
        self._on_orphaned, self._parent_pid = on_orphaned, parent_pid
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(self._interval_s):
            try:
                with self._sessions.begin() as session:
                    crud.beat(session=session, worker_id=self._worker_id)
            except Exception as err:  # keep beating: the next one may get through
                log.warning("heartbeat failed: %s", str(err).splitlines()[0])
            if self._parent_pid is not None and os.getppid() != self._parent_pid:
                log.warning("the parent process %d is gone; stopping", self._parent_pid)
                self._parent_pid = None
                if self._on_orphaned is not None:
                    self._on_orphaned()

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=5)
