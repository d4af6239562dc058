"""An idempotent consumer's leases on message ids, in the inbox the bus was given.

`Claims.begin` asks the inbox about a message id. When nobody has it, the consumer gets a
`Claim`: a lease named after its holder, renewed every third of its length while the
handler runs, then marked done (`complete`) or given up (`release`). Only the holder may
renew or release a lease, so a consumer that lost its lease (it ran past it while the
inbox was away) never releases the one another consumer took since.

The inbox is a best effort on top of at-least-once delivery: when it cannot be reached,
`begin` answers None (process the message without it) and the other calls log a warning.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from typing import TYPE_CHECKING, Literal

from svckit.core.logging import get_logger

if TYPE_CHECKING:
    from svckit.messaging.idempotency import IdempotencyStore

__all__ = ["Claim", "Claims"]

_log = get_logger("svckit.consumer")


class Claim:
    """A lease on one message id, renewed in the background until it is settled."""

    __slots__ = ("holder", "key", "renewal")

    def __init__(self, key: str, holder: str) -> None:
        """A lease on ``key`` held by ``holder``, not yet renewed."""
        self.key = key
        self.holder = holder
        self.renewal: asyncio.Task[None] | None = None

    def stop_renewing(self) -> None:
        """Stop the background renewal (the handler is over)."""
        if self.renewal is not None:
            self.renewal.cancel()
            self.renewal = None


class Claims:
    """One consumer's leases in ``inbox``: ``lease`` seconds each, done for ``ttl``."""

    def __init__(self, inbox: IdempotencyStore, *, lease: float, ttl: float) -> None:
        """Claim in ``inbox``, under a holder prefix of this consumer's own."""
        self._inbox = inbox
        self._lease = lease
        self._ttl = ttl
        self._holder = f"{secrets.token_hex(6)}-"
        self._count = itertools.count()

    async def begin(self, key: str) -> Claim | Literal["done", "busy"] | None:
        """Claim ``key``: a renewed `Claim`, ``"done"``, ``"busy"``, or None (no inbox)."""
        claim = Claim(key, f"{self._holder}{next(self._count)}")
        try:
            state = await self._inbox.begin(key, self._lease, holder=claim.holder)
        except Exception:  # noqa: BLE001 - the inbox is a best effort on top of at-least-once
            _log.warning("idempotency inbox unavailable; processing without it", exc_info=True)
            return None
        if state != "new":
            return state
        claim.renewal = asyncio.get_running_loop().create_task(self._renew(claim))
        return claim

    async def _renew(self, claim: Claim) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            try:
                held = await self._inbox.renew(claim.key, self._lease, holder=claim.holder)
            except Exception:  # noqa: BLE001 - tried again at the next third
                _log.warning("could not renew the idempotency lease", exc_info=True)
                continue
            if not held:
                _log.warning(
                    "the idempotency lease was lost while the handler ran; "
                    "a duplicate of the message may run meanwhile",
                )
                return

    async def complete(self, claim: Claim) -> None:
        """The handler returned: remember the message id as done."""
        claim.stop_renewing()
        try:
            await self._inbox.complete(claim.key, self._ttl)
        except Exception:  # noqa: BLE001 - the work is done; a duplicate may run again later
            _log.warning("could not record the message as processed", exc_info=True)

    async def release(self, claim: Claim) -> None:
        """The handler failed or was cut off: let a retry or a redelivery claim it."""
        claim.stop_renewing()
        try:
            await self._inbox.release(claim.key, holder=claim.holder)
        except Exception:  # noqa: BLE001 - the lease expires by itself
            _log.warning("could not release the idempotency claim", exc_info=True)
