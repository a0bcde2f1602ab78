"""TimerSweep (archiver/timers.py): cancelled timed calls do not pile up in the asyncio reactor.

Each case runs in its own interpreter, since a reactor can be installed once per process. A
"crawl" there arms and cancels download-style timeouts from asyncio callbacks, as answers
arriving over sockets do, so that nothing but the sweep makes a Twisted timed call fall due.
Counting the cancelled calls still held reads Twisted's private heap: what the sweep is for.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

ARMED_PER_TICK = 100
TICKS = 100  # one every 20 ms: 5,000 timeouts a second, for 2 s
SWEEPS_AT_END = 0.5  # seconds the crawl runs on after its last timeout: past one sweep

_CRAWL = textwrap.dedent(
    f"""
    import asyncio, sys
    from twisted.internet import asyncioreactor
    asyncioreactor.install()
    from twisted.internet import reactor
    from archiver.crawl.timers import TimerSweep

    sweep = TimerSweep()  # plain values: no crawler needed
    ticks = 0

    def answers_arrive():
        global ticks
        for _ in range({ARMED_PER_TICK}):
            reactor.callLater(600, lambda: None).cancel()  # a download timeout, answered
        ticks += 1
        if ticks < {TICKS}:
            asyncio.get_event_loop().call_later(0.02, answers_arrive)
        else:
            asyncio.get_event_loop().call_later({SWEEPS_AT_END}, finish)

    def finish():
        held = sum(1 for call in reactor._pendingTimedCalls if call.cancelled)
        print(held)
        sweep.engine_stopped()
        reactor.stop()

    def start():
        if sys.argv[1] == "sweep":
            sweep.engine_started()
        answers_arrive()

    reactor.callWhenRunning(start)
    reactor.run()
    """
)


def _cancelled_calls_held(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _CRAWL, mode], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


def test_without_a_sweep_every_cancelled_timeout_is_kept():
    # The problem the sweep solves, shown on this Twisted: if this fails, Twisted drops
    # cancelled calls by itself now, and the sweep may go.
    assert _cancelled_calls_held("none") == ARMED_PER_TICK * TICKS


def test_the_sweep_keeps_at_most_about_a_second_of_cancelled_timeouts():
    held = _cancelled_calls_held("sweep")
    # The last sweep came after the last timeout was cancelled, or at most a second before.
    assert held <= ARMED_PER_TICK * TICKS // 2
