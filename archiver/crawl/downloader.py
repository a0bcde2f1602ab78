"""Scrapy's downloader, holding to its per-host limit when requests queue up for a host.

Scrapy's Downloader takes requests off a slot's queue while the slot has free transfer places,
but counts a request as transferring only once its download task starts running; under the
asyncio reactor that is a loop turn later, so with no delay every queued request leaves at
once, however few places the slot has (with a delay, one leaves per turn anyway). Counting
each request as it leaves the queue keeps CONCURRENT_REQUESTS_PER_DOMAIN: at most that many in
flight to one host.
"""

from __future__ import annotations

from time import monotonic

from scrapy.core.downloader import Downloader, Slot
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import _schedule_coro


class ArchiveDownloader(Downloader):
    def _process_queue(self, slot: Slot) -> None:
        # Downloader._process_queue, with the one line marked below.
        if slot.latercall:
            return
        now = monotonic()
        delay = slot.download_delay()
        if delay:
            penalty = delay - now + slot.lastseen
            if penalty > 0:
                slot.latercall = call_later(penalty, self._latercall, slot)
                return
        while slot.queue and slot.free_transfer_slots() > 0:
            slot.lastseen = now
            request, queue_dfd = slot.queue.popleft()
            slot.transferring.add(request)  # counted now; _download adds it again (a set)
            _schedule_coro(self._wait_for_download(slot, request, queue_dfd))
            if delay:  # one request per delay: no burst
                self._process_queue(slot)
                break
