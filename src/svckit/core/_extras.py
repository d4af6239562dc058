"""Import an optional dependency, or fail with the command that installs it."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from svckit.core.errors import MissingExtraError

if TYPE_CHECKING:
    from types import ModuleType


def require(module: str, extra: str) -> ModuleType:
    """Import ``module``, raising `MissingExtraError` with an install hint if it is absent.

    Args:
        module: The importable name, for example ``"aio_pika"``.
        extra: The svckit extra that installs it, for example ``"worker"``.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module.partition(".")[0] and exc.name != module:
            raise
        raise MissingExtraError(module, extra) from exc
