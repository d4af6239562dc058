"""Login attempts counted per account and per client address in the shared cache.

Fixed windows: the counter of the current window (``login_window`` seconds) is
incremented atomically (``Cache.incr``), so every process of the API counts together.
Past the limit, the answer is 429 with ``Retry-After`` until the window ends.
"""

from __future__ import annotations

import hashlib
import math
import time
from typing import TYPE_CHECKING

from svckit.api import Problem

if TYPE_CHECKING:
    from examples.users_api.settings import UsersSettings
    from svckit.cache import Cache

__all__ = ["LoginLimiter"]


class LoginLimiter:
    """Counts login attempts; raises a 429 problem past a limit."""

    def __init__(self, settings: UsersSettings, cache: Cache) -> None:
        """Limit as ``settings`` says, counting in ``cache``."""
        self._window = settings.login_window
        self._per_account = settings.login_attempts_per_account
        self._per_address = settings.login_attempts_per_address
        self._cache = cache

    async def attempt(self, account: str, address: str) -> None:
        """Count one attempt on ``account`` from ``address``.

        Raises:
            Problem: 429 with ``Retry-After`` when either limit is passed.
        """
        now = time.time()
        window = int(now // self._window)
        retry_after = max(math.ceil((window + 1) * self._window - now), 1)
        # The account by digest: an email is personal data, and of unbounded text.
        account_key = hashlib.sha256(account.lower().encode()).hexdigest()[:32]
        address_key = hashlib.sha256(address.encode()).hexdigest()[:32]
        by_account = await self._cache.incr(
            f"login:account:{account_key}:{window}", ttl=self._window
        )
        by_address = await self._cache.incr(
            f"login:address:{address_key}:{window}", ttl=self._window
        )
        if by_account > self._per_account or by_address > self._per_address:
            raise Problem(
                429,
                detail="too many login attempts; try again later",
                headers={"Retry-After": str(retry_after)},
            )
