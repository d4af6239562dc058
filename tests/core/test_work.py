"""`InFlight`: units of work that are whole tasks, or stretches of a longer task."""

from __future__ import annotations

import asyncio

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
