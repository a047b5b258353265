"""Worker processes under a Thespian supervisor: N processes, each running one app.

An app is any ``"package.module:factory"`` whose ``factory()`` returns an async context
manager; each worker enters it in an asyncio loop of its own, restarts it with backoff when the
process dies or the app raises, and exits it on drain. See ``WorkerPool`` and ``run_workers``.
"""

from repertory.workers._messages import SlotState, SlotStatus
from repertory.workers._pool import WorkerPool, process_alive
from repertory.workers._run import run_workers

__all__ = ["SlotState", "SlotStatus", "WorkerPool", "process_alive", "run_workers"]
