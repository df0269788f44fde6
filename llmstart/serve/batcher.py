"""Group concurrent requests into one model call: a bounded queue, a maximum batch, a maximum wait.

A service that calls the model once per request runs as many forward passes at once as it has
clients, and they fight over the cores. The batcher runs one model call at a time in a worker
thread (so the server keeps accepting requests): each call takes every text waiting when the
model is free, up to ``max_batch``, and hands each request its own rows. While the model is busy
the next batch forms by itself, so the default ``max_wait_ms`` is 0: waiting longer for company
only adds latency when traffic is light (measured on 2 CPU cores with MiniLM: 5 ms of waiting
cost 5 ms at one client and 23 % of the throughput at 32). On a CPU one pass over 32 short texts
costs about as much per text as 32 passes over one (1.2x less here), so most of the gain over a
naive service comes from not oversubscribing the cores; on a GPU batching itself pays. At most ``max_pending`` texts may wait or run at once: beyond
that :meth:`Batcher.submit` raises :class:`QueueFull` at once (the service answers 503 with
``Retry-After``) instead of letting the queue, and every client's latency, grow without bound.

>>> import asyncio, numpy as np
>>> async def demo():
...     b = Batcher(lambda texts: np.array([[len(t)] for t in texts]), max_batch=8, max_wait_ms=5)
...     await b.start()
...     rows = await asyncio.gather(b.submit(["ab"]), b.submit(["abc", "d"]))
...     await b.stop()
...     return [r.tolist() for r in rows], b.batch_sizes
>>> asyncio.run(demo())
([[[2]], [[3], [1]]], [3])
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["Batcher", "QueueFull"]


class QueueFull(RuntimeError):
    """More texts are waiting than the service accepts; retry after ``retry_after`` seconds."""

    def __init__(self, pending: int, limit: int, retry_after: int = 1):
        super().__init__(f"{pending} texts are already waiting (limit {limit}); retry shortly")
        self.retry_after = retry_after


@dataclass
class _Job:
    texts: list[str]
    future: asyncio.Future


class Batcher:
    """See the module docstring. ``predict`` maps a list of texts to an array, one row per text."""

    def __init__(self, predict: Callable[[list[str]], np.ndarray], *, max_batch: int = 32,
                 max_wait_ms: float = 0.0, max_pending: int = 512,
                 on_batch: Callable[[int], None] | None = None):
        if max_batch < 1 or max_pending < 1 or max_wait_ms < 0:
            raise ValueError("max_batch and max_pending must be >= 1 and max_wait_ms >= 0")
        self.predict, self.max_batch, self.max_wait = predict, max_batch, max_wait_ms / 1000
        self.max_pending, self.on_batch = max_pending, on_batch
        self.pending = 0
        self.batch_sizes: list[int] = []
        self._queue: asyncio.Queue[_Job] | None = None
        self._task: asyncio.Task | None = None
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
        self._carry: _Job | None = None

    async def start(self) -> None:
        """Start the background loop (call from the running event loop)."""
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        """Stop the loop; requests still waiting get a ``RuntimeError``."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        while self._queue is not None and not self._queue.empty():
            job = self._queue.get_nowait()
            if not job.future.done():
                job.future.set_exception(RuntimeError("service shutting down"))
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def submit(self, texts: list[str]) -> np.ndarray:
        """Queue ``texts`` and wait for their rows; :class:`QueueFull` when over ``max_pending``."""
        if self._queue is None:
            raise RuntimeError("Batcher.start() was not called")
        if self.pending + len(texts) > self.max_pending:
            raise QueueFull(self.pending, self.max_pending)
        self.pending += len(texts)
        job = _Job(list(texts), asyncio.get_running_loop().create_future())
        self._queue.put_nowait(job)
        try:
            return await job.future
        finally:
            self.pending -= len(texts)

    async def _next_batch(self) -> list[_Job]:
        assert self._queue is not None
        first = self._carry or await self._queue.get()
        self._carry = None
        jobs, size = [first], len(first.texts)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        while size < self.max_batch:
            timeout = deadline - loop.time()
            try:
                job = self._queue.get_nowait() if timeout <= 0 else await asyncio.wait_for(
                    self._queue.get(), timeout)
            except (asyncio.TimeoutError, asyncio.QueueEmpty):
                break
            if size + len(job.texts) > self.max_batch:
                self._carry = job  # starts the next batch instead of overflowing this one
                break
            jobs.append(job)
            size += len(job.texts)
        return jobs

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = await self._next_batch()
            jobs = [j for j in jobs if not j.future.done()]  # a client that went away
            if not jobs:
                continue
            texts = [t for j in jobs for t in j.texts]
            self.batch_sizes.append(len(texts))
            del self.batch_sizes[:-1000]
            if self.on_batch is not None:
                self.on_batch(len(texts))
            try:
                rows = await loop.run_in_executor(self._pool, self.predict, texts)
            except Exception as err:  # the model failed: every waiting client learns why
                for j in jobs:
                    if not j.future.done():
                        j.future.set_exception(err)
                continue
            start = 0
            for j in jobs:
                if not j.future.done():
                    j.future.set_result(rows[start:start + len(j.texts)])
                start += len(j.texts)
