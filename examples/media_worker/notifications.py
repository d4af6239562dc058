"""Notifications on user events: render a message, deliver it at most once.

A `Notifier` delivers; `LogNotifier` (the default) writes a log line, `MemoryNotifier`
keeps what it was given (tests, the demo), `WebhookNotifier` POSTs JSON over svckit's
`HttpClient`.

At most once per message id, because a notification sent twice is worse than one
missed. `deliver_once` claims the message id in the cache *before* it delivers:

- the claim exists already: an earlier attempt sent it, or may have; skip;
- the notifier says it surely did not deliver (`NotDelivered`: connection refused, a 5xx
  answer): the claim is dropped and the message is retried by the consumer's policy;
- the outcome is unknown (`DeliveryUnknown`: the request went out and no answer came,
  or the process died after sending, before the broker heard the ack): the claim stays,
  nothing is sent again. The webhook carries the message id as ``Idempotency-Key``, so a
  receiver that keeps those can drop a duplicate of its own too.

The price: a crash between the claim and the send loses that one notification.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr

from examples.media_worker.messages import UserCreated, UserUpdated
from svckit.core.logging import get_logger
from svckit.http import HttpClient, HttpStatusError, HttpTimeout, HttpTransportError
from svckit.messaging import Reject

if TYPE_CHECKING:
    from svckit.cache import Cache
    from svckit.messaging import Incoming

__all__ = [
    "DeliveryUnknown",
    "LogNotifier",
    "MemoryNotifier",
    "NotDelivered",
    "Notification",
    "Notifier",
    "WebhookNotifier",
    "deliver_once",
    "render",
]

_log = get_logger(__name__)

#: How long a claimed message id is remembered: longer than any redelivery can take.
CLAIM_TTL = 7 * 24 * 3600.0
_NAME_LIMIT = 80
# Answers that will not change if the same request is sent again later.
_PERMANENT_STATUSES = frozenset(range(400, 500)) - {408, 425, 429}

Outcome = Literal["sent", "skipped", "unknown"]


@dataclass(frozen=True, slots=True)
class Notification:
    """A rendered notification.

    Attributes:
        kind: ``"welcome"`` or ``"profile_updated"``.
        user_id: Whom it is for.
        email: Where the user can be reached.
        subject: A one-line summary.
        text: The body, plain text.
    """

    kind: str
    user_id: int
    email: str
    subject: str
    text: str


class NotDelivered(Exception):  # noqa: N818 - named for the outcome
    """Raised by a notifier: the notification surely did not reach the receiver.

    Attributes:
        permanent: Sending it again will fail the same way (a 4xx answer).
    """

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        """Say why nothing was delivered."""
        super().__init__(reason)
        self.permanent = permanent


class DeliveryUnknown(Exception):  # noqa: N818 - named for the outcome
    """Raised by a notifier: the request went out, but whether it arrived is unknown."""


class Notifier(Protocol):
    """Delivers notifications somewhere."""

    async def send(self, notification: Notification, *, key: str) -> None:
        """Deliver ``notification``; ``key`` identifies it across attempts.

        Raises:
            NotDelivered: It surely was not delivered (it may be tried again).
            DeliveryUnknown: It may or may not have been delivered.
        """
        ...


def render(event: UserCreated | UserUpdated) -> Notification:
    """The notification a user event calls for."""
    if isinstance(event, UserCreated):
        name = _clean(event.name) or "there"
        return Notification(
            kind="welcome",
            user_id=event.user_id,
            email=event.email,
            subject=f"Welcome, {name}!",
            text=(
                f"Hello {name},\n\nyour account is ready. Upload a picture and we will "
                "make a thumbnail and a compressed copy of it for you."
            ),
        )
    fields = ", ".join(_clean(field) for field in event.changed) or "your profile"
    return Notification(
        kind="profile_updated",
        user_id=event.user_id,
        email=event.email,
        subject="Your profile was updated",
        text=(
            f"These details of your account changed: {fields}.\n\n"
            "If you did not change them, reset your password."
        ),
    )


async def deliver_once(
    cache: Cache,
    notifier: Notifier,
    notification: Notification,
    incoming: Incoming,
    *,
    ttl: float = CLAIM_TTL,
) -> Outcome:
    """Deliver ``notification`` unless its message was delivered (or tried) before.

    Returns:
        ``"sent"``; ``"skipped"`` when an earlier attempt claimed the message;
        ``"unknown"`` when the notifier could not tell whether it delivered.

    Raises:
        NotDelivered: Surely not delivered; the claim is dropped, so a retry may send it.
        Reject: Not delivered, and a retry would fail the same way.
    """
    key = incoming.message_id or hashlib.sha256(incoming.body).hexdigest()
    claim = f"notified:{key}"
    if not await cache.add(claim, incoming.topic, ttl=ttl):
        _log.info("notification already sent or attempted; skipping", kind=notification.kind)
        return "skipped"
    try:
        await notifier.send(notification, key=key)
    except NotDelivered as exc:
        await cache.delete(claim)
        if exc.permanent:
            raise Reject(f"the notification was refused: {exc}") from exc
        raise
    except DeliveryUnknown as exc:
        _log.warning(
            "notification outcome unknown; not sending again (at most once)",
            kind=notification.kind,
            user_id=notification.user_id,
            error=str(exc),
        )
        return "unknown"
    return "sent"


class LogNotifier:
    """Writes each notification to the log (without the address or the text)."""

    async def send(self, notification: Notification, *, key: str) -> None:
        """Log that ``notification`` would be sent."""
        _log.info(
            "notification",
            kind=notification.kind,
            user_id=notification.user_id,
            subject=notification.subject,
            key=key,
        )


class MemoryNotifier:
    """Keeps the notifications it is given, in order, for tests and demos.

    Attributes:
        sent: ``(key, notification)`` pairs.
    """

    def __init__(self) -> None:
        """Start with nothing sent."""
        self.sent: list[tuple[str, Notification]] = []

    async def send(self, notification: Notification, *, key: str) -> None:
        """Record ``notification``."""
        self.sent.append((key, notification))


class WebhookNotifier:
    """POSTs each notification as JSON to a URL, with ``Idempotency-Key: <message id>``.

    The client sends each request once (``retry=False``): retries are the consumer's, and
    only after `NotDelivered`, so nothing that may have arrived is sent again.

    Example:
        ```python
        notifier = WebhookNotifier.from_url(settings.webhook_url)
        # open notifier.client with the service's resources
        ```

    Attributes:
        client: The HTTP client; the service opens and closes it.
        path: Where to POST, relative to the client's base URL.
    """

    def __init__(self, client: HttpClient, path: str = "") -> None:
        """POST to ``path``, relative to the client's base URL."""
        self.client = client
        self.path = path

    @classmethod
    def from_url(cls, url: str | SecretStr, *, service_name: str = "svckit") -> WebhookNotifier:
        """A notifier POSTing to ``url``, with an `HttpClient` on that URL's origin."""
        raw = url.get_secret_value() if isinstance(url, SecretStr) else url
        parts = urlsplit(raw)
        origin = urlunsplit((parts.scheme, parts.netloc, "/", "", ""))
        path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        client = HttpClient(SecretStr(origin), name="webhook", service_name=service_name)
        return cls(client, path)

    async def send(self, notification: Notification, *, key: str) -> None:
        """POST the notification.

        Raises:
            NotDelivered: Refused, unreachable, or answered with an error status.
            DeliveryUnknown: Sent, but no answer came.
        """
        payload = {
            "kind": notification.kind,
            "user_id": notification.user_id,
            "email": notification.email,
            "subject": notification.subject,
            "text": notification.text,
        }
        try:
            await self.client.post(
                self.path, json=payload, headers={"Idempotency-Key": key}, retry=False
            )
        except HttpStatusError as exc:
            raise NotDelivered(
                f"the webhook answered {exc.status}", permanent=exc.status in _PERMANENT_STATUSES
            ) from exc
        except HttpTimeout as exc:
            if exc.phase in {"connect", "pool"}:
                raise NotDelivered(
                    f"the webhook did not accept a connection ({exc.phase})"
                ) from exc
            raise DeliveryUnknown(f"no answer from the webhook ({exc.phase} timeout)") from exc
        except HttpTransportError as exc:
            if _never_connected(exc):
                raise NotDelivered("the webhook is unreachable") from exc
            raise DeliveryUnknown("the connection to the webhook broke") from exc


def _never_connected(exc: HttpTransportError) -> bool:
    # HttpTransportError does not say whether the request went out; the HTTP library's
    # ConnectError (kept as the cause) does, and means it did not.
    return type(exc.__cause__).__name__ == "ConnectError"


def _clean(text: str | None) -> str:
    if not text:
        return ""
    printable = "".join(ch for ch in text if ch.isprintable())
    return printable.strip()[:_NAME_LIMIT]
