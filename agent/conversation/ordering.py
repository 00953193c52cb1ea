"""One conversation's turns and staff actions, one at a time — in this process and, on
PostgreSQL, across every server process on the database.

Inside a process a thread lock per conversation, kept only while someone holds or waits
for it (the table shrinks back as conversations go quiet). Across processes a PostgreSQL
advisory lock on the conversation (:mod:`agent.db.advisory_lock`), taken after the thread
lock, so a process asks the database once per conversation at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from agent.conversation.results import ConversationError
from agent.db.advisory_lock import AdvisoryLocks, LockUnavailable, lock_key

# Longer than any turn takes; reached only when another process holds the conversation
# that long (a stuck turn), and then the customer is asked to send it again.
ORDER_TIMEOUT_SECONDS = 60.0
BUSY = "This conversation is busy just now, so nothing was changed. Please send it again."


@dataclass
class _Entry:
    lock: threading.Lock
    users: int = 0


class ConversationOrder:
    def __init__(
        self, across: AdvisoryLocks | None = None, timeout: float = ORDER_TIMEOUT_SECONDS
    ) -> None:
        self._across = across
        self._timeout = timeout
        self._entries: dict[str, _Entry] = {}
        self._guard = threading.Lock()

    @property
    def across_processes(self) -> bool:
        return self._across is not None

    def held(self) -> int:
        """Conversations held or waited for in this process now (a method, not ``len``:
        an empty order must not be falsy, ``order or default`` would drop it)."""
        with self._guard:
            return len(self._entries)

    @contextmanager
    def hold(self, conversation_id: str) -> Iterator[None]:
        with self._guard:
            entry = self._entries.get(conversation_id)
            if entry is None:
                entry = self._entries[conversation_id] = _Entry(threading.Lock())
            entry.users += 1
        try:
            if not entry.lock.acquire(timeout=self._timeout):
                raise ConversationError("try_again", BUSY)
            try:
                if self._across is None:
                    yield
                else:
                    key = lock_key(conversation_id)
                    try:
                        self._across.acquire(key, self._timeout)
                    except LockUnavailable as exc:
                        raise ConversationError("try_again", BUSY) from exc
                    try:
                        yield
                    finally:
                        self._across.release(key)
            finally:
                entry.lock.release()
        finally:
            with self._guard:
                entry.users -= 1
                if entry.users == 0:
                    del self._entries[conversation_id]

    def close(self) -> None:
        if self._across is not None:
            self._across.close()
