"""Concurrent requests -> one forward pass: a queue and one tagging thread.

::

    request handlers (event loop) --put (articles, future)--> queue
    tagging thread: take one request, then every waiting one up to max_articles
        --tag_batch(tagger, all their articles) (torch releases the GIL)-->
        each request's slice of the results --loop.call_soon_threadsafe--> its future

One thread owns the model, so requests never run forward passes over each other, and requests
that arrive while a batch runs are tagged together in the next one. The served model is swapped
(:meth:`Batcher.swap`) between batches, never during one.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from argmine.document import Article

__all__ = ["Batcher", "Served"]

log = logging.getLogger("argmine.serve")


@dataclass(frozen=True)
class Served:
    """The model being served: the loaded tagger and its version."""

    tagger: Any
    version: str
    model_version: str
    path: str


TagBatch = Callable[[Any, Sequence[Article]], list[Article]]


@dataclass
class _Request:
    articles: list[Article]
    future: asyncio.Future[tuple[list[Article], Served]]
    loop: asyncio.AbstractEventLoop


class Batcher:
    """Tags the articles of concurrent requests in shared batches on one thread."""

    def __init__(self, served: Served, tag_batch: TagBatch, *, max_articles: int = 16) -> None:
        self.served = served
        self.tag_batch = tag_batch
        self.max_articles = max_articles
        self.batches = 0
        self._queue: queue.Queue[_Request | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="argmine-tagger", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def swap(self, served: Served) -> None:
        """Serve another model from the next batch on."""
        self.served = served

    async def tag(self, articles: Sequence[Article]) -> tuple[list[Article], Served]:
        """Tagged copies of ``articles`` and the model that tagged them."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[list[Article], Served]] = loop.create_future()
        if not articles:
            return [], self.served
        self._queue.put(_Request(list(articles), future, loop))
        return await future

    # -- the tagging thread -------------------------------------------------------------------
    def _take(self) -> list[_Request] | None:
        first = self._queue.get()
        if first is None:
            return None
        batch, size = [first], len(first.articles)
        while size < self.max_articles:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)
                break
            batch.append(item)
            size += len(item.articles)
        return batch

    def _run(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            served = self.served
            articles = [a for r in batch for a in r.articles]
            self.batches += 1
            try:
                tagged = self.tag_batch(served.tagger, articles)
            except Exception as exc:  # one bad request must not fail the others
                log.exception("tagging a batch of %d requests failed; retrying each", len(batch))
                for request in batch:
                    self._answer_one(request, served, exc)
                continue
            start = 0
            for request in batch:
                part = tagged[start : start + len(request.articles)]
                start += len(request.articles)
                _resolve(request, result=(part, served))

    def _answer_one(self, request: _Request, served: Served, first: Exception) -> None:
        if len(request.articles) == 0:
            _resolve(request, error=first)
            return
        try:
            _resolve(request, result=(self.tag_batch(served.tagger, request.articles), served))
        except Exception as exc:
            _resolve(request, error=exc)


def _resolve(
    request: _Request,
    *,
    result: tuple[list[Article], Served] | None = None,
    error: BaseException | None = None,
) -> None:
    def settle() -> None:
        if request.future.done():  # the client went away
            return
        if error is not None:
            request.future.set_exception(error)
        else:
            request.future.set_result(result)  # type: ignore[arg-type]

    request.loop.call_soon_threadsafe(settle)
