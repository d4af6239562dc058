"""`InFlight`: units of work that are whole tasks, or stretches of a longer task."""

from __future__ import annotations

import asyncio

import pytest

from svckit import DrainReport, InFlight


async def test_units_begun_and_ended_in_one_task_are_drained_one_by_one() -> None:
    work = InFlight()
    gate = [asyncio.Event() for _ in range(3)]
    begun = asyncio.Event()

    async def runner() -> None:
        # One task doing three units one after another, as the embedded broker's runners do.
        for event in gate:
            task = work.begin()
            begun.set()
            try:
                await event.wait()
            finally:
                work.end(task)

    loop_task = asyncio.create_task(runner())
    await begun.wait()
    assert len(work) == 1
    for event in gate:
        asyncio.get_running_loop().call_soon(event.set)
    assert await work.drain(timeout=5) == DrainReport(drained=3, cut_off=0)
    await loop_task


async def test_a_unit_still_running_at_the_deadline_is_cut_off_with_its_task() -> None:
    work = InFlight()
    cleaned_up = asyncio.Event()
    begun = asyncio.Event()

    async def runner() -> None:
        task = work.begin()
        begun.set()
        try:
            await asyncio.Event().wait()  # never ends by itself
        finally:
            cleaned_up.set()
            work.end(task)

    loop_task = asyncio.create_task(runner())
    await begun.wait()
    assert await work.drain(timeout=0.05) == DrainReport(drained=0, cut_off=1)
    assert cleaned_up.is_set()
    assert loop_task.cancelled()
    assert len(work) == 0


async def test_begin_outside_a_task_is_an_error() -> None:
    loop = asyncio.get_running_loop()
    outcome: asyncio.Future[str] = loop.create_future()

    def callback() -> None:  # a plain loop callback: no current task
        try:
            InFlight().begin()
        except RuntimeError as exc:
            outcome.set_result(str(exc))

    loop.call_soon(callback)
    assert "from a task" in await asyncio.wait_for(outcome, 5)


async def test_a_unit_begun_in_the_turn_the_last_one_ended_is_waited_for() -> None:
    work = InFlight()
    first_done = asyncio.Event()
    begun = asyncio.Event()

    async def runner() -> None:
        task = work.begin()
        begun.set()
        await first_done.wait()
        # End one unit and begin the next without yielding: the drain must not see idle.
        work.end(task)
        task = work.begin()
        try:
            await asyncio.Event().wait()  # the second unit never ends by itself
        finally:
            work.end(task)

    loop_task = asyncio.create_task(runner())
    await begun.wait()
    asyncio.get_running_loop().call_soon(first_done.set)

    # The second unit was still running when the first ended: it is cut off at the deadline.
    assert await work.drain(timeout=0.2) == DrainReport(drained=1, cut_off=1)
    assert len(work) == 0
    assert loop_task.cancelled()


async def test_the_wait_for_cut_off_work_is_bounded() -> None:
    work = InFlight()
    cancelled = asyncio.Event()
    release = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            await release.wait()  # ignores its cancellation

    task = work.spawn(stubborn())
    await asyncio.sleep(0)  # let it start

    assert await work.drain(timeout=0, grace=0.05) == DrainReport(drained=0, cut_off=1)
    assert cancelled.is_set()
    assert not task.done()  # left behind, not waited for
    release.set()
    await task


async def test_cancelling_a_drain_cuts_the_work_off_before_it_raises() -> None:
    work = InFlight()
    cleaned_up = asyncio.Event()
    begun = asyncio.Event()

    async def job() -> None:
        begun.set()
        try:
            await asyncio.Event().wait()
        finally:
            cleaned_up.set()

    task = work.spawn(job())
    await begun.wait()
    drain = asyncio.create_task(work.drain(timeout=3600))
    await asyncio.sleep(0)  # the drain waits
    drain.cancel()

    with pytest.raises(asyncio.CancelledError):
        await drain
    assert cleaned_up.is_set()
    assert task.cancelled()
    assert len(work) == 0
