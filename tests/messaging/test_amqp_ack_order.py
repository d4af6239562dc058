"""`ChannelAcks` against a model of the broker's rules, without a broker.

The broker numbers a channel's deliveries 1, 2, 3...; an ack or nack of a tag it does not
hold (settled already) closes the channel; a ``multiple`` ack settles every tag it holds up
to its own. Whatever order handlers finish in, with nacks among them and deliveries svckit
never saw (aiormq dropped them), every frame must name held tags, a ``multiple`` ack must
never settle a delivery that was not finished, and every finished delivery is settled.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from svckit.messaging._amqp_acks import ChannelAcks


class ModelChannel:
    """The broker's side of one channel, fed by the frames `ChannelAcks` sends."""

    def __init__(self, delivered: set[int]) -> None:
        self.held = set(delivered)
        self.is_closed = False
        self.frames: list[tuple[str, int, bool]] = []
        self.lost: set[int] = set()  # settled although no handler finished them
        self.finished: set[int] = set()

    def create_task(self, coro: Any) -> asyncio.Task[None]:
        return asyncio.get_running_loop().create_task(coro)

    def _settle(self, tag: int, *, multiple: bool) -> None:
        if tag not in self.held:
            raise AssertionError(f"unknown delivery tag {tag}: the broker closes the channel")
        covered = {t for t in self.held if t <= tag} if multiple else {tag}
        self.lost |= covered - self.finished
        self.held -= covered

    async def basic_ack(self, tag: int, *, multiple: bool = False, wait: bool = True) -> None:
        assert not wait
        self.frames.append(("ack", tag, multiple))
        self._settle(tag, multiple=multiple)

    async def basic_nack(self, tag: int, *, requeue: bool, wait: bool = True) -> None:
        assert not wait
        self.frames.append(("nack", tag, requeue))
        self.finished.add(tag)  # settled on purpose
        self._settle(tag, multiple=False)


@settings(max_examples=300, deadline=None)
@given(
    count=st.integers(min_value=1, max_value=40),
    data=st.data(),
)
def test_acks_follow_the_brokers_rules_whatever_the_order(count: int, data: st.DataObject) -> None:
    tags = list(range(1, count + 1))
    dropped = set(data.draw(st.lists(st.sampled_from(tags), max_size=3)))  # never seen
    seen = [tag for tag in tags if tag not in dropped]
    order = data.draw(st.permutations(seen))
    running = set(data.draw(st.lists(st.sampled_from(seen), max_size=3))) if seen else set()
    nacked = set(data.draw(st.lists(st.sampled_from(seen), max_size=3))) if seen else set()
    # Settle in turns: a few deliveries finish in each turn of the event loop.
    turns = data.draw(st.lists(st.integers(min_value=1, max_value=6), min_size=len(order)))

    async def scenario() -> ModelChannel:
        channel = ModelChannel(set(tags))
        acks = ChannelAcks(channel)
        pending = [tag for tag in order if tag not in running]
        for size in turns:
            if not pending:
                break
            for tag in pending[:size]:
                if tag in nacked:
                    acks.nack(tag, requeue=True)
                else:
                    channel.finished.add(tag)
                    acks.ack(tag)
            pending = pending[size:]
            for _ in range(5):  # let the sender run
                await asyncio.sleep(0)
        for _ in range(5):
            await asyncio.sleep(0)
        if acks._sender is not None:
            acks._sender.cancel()
        return channel

    channel = asyncio.run(scenario())
    assert channel.lost == set()
    # Everything finished or nacked is settled; only the running and the dropped remain.
    assert channel.held == running | dropped
