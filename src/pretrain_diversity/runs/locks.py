"""One worker per run at a time: an exclusive, non-blocking ``flock`` on ``run_dir/lock``.

The lock file is never deleted (deleting it would let a late opener lock an orphaned inode); it
records the owner's host and pid for messages. The kernel releases the lock when the owning
process exits or is killed, so there is no stale claim to clean up. flock works across hosts on
NFSv4 and most cluster file systems; on others use one output folder per host.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path

from pretrain_diversity.runs.machine import now

LOCK = "lock"


class RunLock:
    def __init__(self, run_dir: str | os.PathLike):
        self.path = Path(run_dir) / LOCK
        self.fd: int | None = None

    def acquire(self, *, wait: bool = False) -> bool:
        """Take the lock; if another process holds it, return False (or, with wait, block)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return False
        # The owner line is a note for messages, not a result: it is rewritten in place under
        # the lock, and a torn note only makes owner() say "another worker".
        owner = {"host": socket.gethostname(), "pid": os.getpid(), "since": now()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(owner) + "\n").encode(), 0)
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def held_elsewhere(self) -> bool:
        if not self.path.exists():
            return False
        if self.acquire():
            self.release()
            return False
        return True

    def owner(self) -> str:
        try:
            o = json.loads(self.path.read_text())
            return f"pid {o['pid']} on {o['host']} since {o['since']}"
        except (OSError, ValueError, KeyError, TypeError):
            return "another worker"
