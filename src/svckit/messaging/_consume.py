"""A running consumer: the path of one delivery from the broker to its acknowledgement.

For each delivery, in order:

1. decode the body into what the handler takes; a body that cannot be decoded or
   validated is poison and goes to dead letters at once;
2. with ``idempotent=True``, ask the inbox: a message id already done is acknowledged
   and skipped, one held by another consumer waits in a delay queue; with
   ``inbox="database"``, the handler runs in a transaction that marks the id done, so
   its database work and the mark commit together (a duplicate is skipped);
3. run the handler;
4. success: acknowledge. Failure: if the retry policy allows another try, publish a copy
   with the next attempt number to a delay queue and acknowledge the original once the
   broker confirmed the copy; otherwise publish it to the dead-letter queue with the
   error, then acknowledge. Cancelled (shutdown cut it off): give it back to the broker.
   A handler that raises `asyncio.CancelledError` by itself, with nothing cancelling its
   task, has failed (`HandlerCancelledError`): retried or dead-lettered.

A message is acknowledged only after its outcome is safe with the broker, so a crash at
any point means a redelivery, never a loss.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

from opentelemetry.context import attach, detach
from opentelemetry.trace import SpanKind, get_current_span, set_span_in_context

from svckit.core.errors import DecodeError, HandlerCancelledError, LifecycleError
from svckit.core.logging import bind, get_logger, unbind
from svckit.core.telemetry import (
    MESSAGING_CONSUMER_GROUP_NAME,
    MESSAGING_DESTINATION_NAME,
    MESSAGING_MESSAGE_ID,
    MESSAGING_OPERATION_TYPE,
    MESSAGING_RABBITMQ_ROUTING_KEY,
    MESSAGING_SYSTEM,
    SVCKIT_MESSAGE_ATTEMPT,
    extract_context,
    record_failure,
)
from svckit.core.work import DrainReport, InFlight
from svckit.messaging._claims import Claim, Claims
from svckit.messaging._content import read_body
from svckit.messaging._handling import (
    attempt_of,
    give_back,
    request_id_of,
    topic_of,
    type_name,
)
from svckit.messaging._outcomes import Outcomes
from svckit.messaging.consumer import BoundHandler, Incoming, reads_json
from svckit.messaging.transport import QueueSpec

if TYPE_CHECKING:
    from svckit.messaging._metrics import BusTelemetry
    from svckit.messaging.idempotency import IdempotencyStore, TransactionalInbox
    from svckit.messaging.transport import Delivery, Subscription, Transport

_log = get_logger("svckit.consumer")

#: How long a duplicate waits when another consumer holds its message id.
BUSY_DELAY = 1.0
#: The longest pause before a message whose outcome could not be recorded goes back.
GIVE_BACK_PAUSE = 5.0


#: What `Consumer._claim` returns for a message it settled itself (a duplicate).
_SETTLED = Claim("", "")


def _cancelled_from_outside() -> bool:
    """Whether the current task was cancelled (by a drain), not a handler's own raise."""
    task = asyncio.current_task()
    return task is None or task.cancelling() > 0


class Consumer:
    """One consumer's queue, subscription and in-flight handlers; an `Intake`."""

    def __init__(
        self,
        handler: BoundHandler,
        *,
        service: str,
        exchange: str,
        transport: Transport,
        inbox: IdempotencyStore | None,
        telemetry: BusTelemetry,
        database_inbox: TransactionalInbox | None = None,
    ) -> None:
        """Wire ``handler`` to its queue ``<service>.<name>`` on ``exchange``."""
        spec = handler.spec
        self.handler = handler
        self.name = f"{service}.{handler.name}"
        self.queue = QueueSpec(
            name=self.name,
            exchange=exchange,
            patterns=spec.patterns,
            queue_type=spec.queue_type,
            delivery_limit=spec.delivery_limit,
        )
        self._transport = transport
        # Only a consumer that keeps its inbox there runs its handlers in its transactions.
        self._database_inbox = database_inbox if spec.inbox == "database" else None
        self._telemetry = telemetry
        self._subscription: Subscription | None = None
        self._stopping = False
        # A delivery each: a transport may run several, one after another, in one task.
        self._work = InFlight()
        self._limit = (
            asyncio.Semaphore(spec.concurrency)
            if spec.concurrency is not None and spec.concurrency < spec.prefetch
            else None
        )
        self._outcomes = Outcomes(
            self.queue, policy=spec.retry, transport=transport, telemetry=telemetry
        )
        self._claims = (
            Claims(inbox, lease=spec.idempotency_lease, ttl=spec.idempotency_ttl)
            if spec.idempotent and inbox is not None
            else None
        )
        self._attributes = {
            MESSAGING_SYSTEM: "rabbitmq",
            MESSAGING_DESTINATION_NAME: self.name,
            MESSAGING_CONSUMER_GROUP_NAME: self.name,
            MESSAGING_OPERATION_TYPE: "process",
        }
        self._metric_attributes = {"queue": self.name}
        if spec.idempotent and inbox is None:
            raise LifecycleError(f"consumer {self.name} is idempotent but the bus has no inbox")
        if spec.inbox == "database" and database_inbox is None:
            raise LifecycleError(
                f"consumer {self.name} keeps its inbox in the database, but the service has "
                "none: set `uses_database = True` on it",
            )

    @property
    def started(self) -> bool:
        """Whether `start` subscribed (and `stop` has not been called)."""
        return self._subscription is not None and not self._stopping

    @property
    def active(self) -> bool:
        """Whether deliveries can arrive."""
        return self._subscription is not None and self._subscription.active

    async def start(self) -> None:
        """Declare the queue (with its dead-letter queue) and start consuming."""
        self._stopping = False
        await self._transport.declare_queue(self.queue)
        self._subscription = await self._transport.consume(
            self.name, self._on_delivery, prefetch=self.handler.spec.prefetch
        )

    async def stop(self) -> None:
        """Stop taking deliveries; those in flight go on."""
        self._stopping = True
        if self._subscription is not None:
            await self._subscription.cancel()

    async def drain(self, timeout: float) -> DrainReport:
        """Wait for in-flight handlers; cut off the rest, which return to the broker."""
        return await self._work.drain(timeout)

    # ------------------------------------------------------------------ one delivery

    async def _on_delivery(self, delivery: Delivery) -> None:
        task = self._work.begin()
        try:
            if self._stopping:
                await delivery.nack(requeue=True)
                return
            headers = delivery.headers
            attempt = attempt_of(headers)
            log_context = {"message_id": delivery.message_id, "queue": self.name}
            request_id = request_id_of(headers)
            if request_id is not None:
                # Bound for the handler's logs, and carried on by whatever it publishes.
                log_context["request_id"] = request_id
            # The span and the log context by hand, not as context managers: this runs once
            # per message, and the generator layers cost more than the work they wrap.
            parent = extract_context(headers)
            span = None
            if self._telemetry.tracing:
                span = self._telemetry.tracer.start_span(
                    f"{self.name} process",
                    context=parent,
                    kind=SpanKind.CONSUMER,
                    attributes={
                        **self._attributes,
                        MESSAGING_MESSAGE_ID: delivery.message_id or "",
                        MESSAGING_RABBITMQ_ROUTING_KEY: topic_of(delivery),
                        SVCKIT_MESSAGE_ATTEMPT: attempt,
                    },
                )
                parent = set_span_in_context(span, parent)
            # Without a span of its own, the handler still passes the sender's trace on.
            context_token = attach(parent)
            log_token = bind(**log_context)
            try:
                await self._process(delivery, attempt)
            except asyncio.CancelledError as exc:
                if _cancelled_from_outside():
                    # Shutdown cut the handler off: the message goes back, unharmed.
                    await asyncio.shield(give_back(delivery))
                    raise
                # A CancelledError that nobody sent escaped the settling (the handler's own
                # is a failure, dealt with in _process): give the message back after a pause.
                _log.error("could not settle the message; giving it back", exc_info=exc)
                await asyncio.sleep(min(GIVE_BACK_PAUSE, self.handler.spec.retry.delay(attempt)))
                await give_back(delivery)
            except Exception as exc:  # noqa: BLE001 - nothing may leave a delivery unsettled
                # The outcome could not be made safe (the broker refused the retry copy, say):
                # give the message back after a pause, so that an outage is not a tight
                # redelivery loop. The queue's delivery limit bounds the repeats.
                record_failure(get_current_span(), exc)
                _log.exception("could not settle the message; giving it back to the broker")
                await asyncio.sleep(min(GIVE_BACK_PAUSE, self.handler.spec.retry.delay(attempt)))
                await give_back(delivery)
            finally:
                unbind(log_token)
                detach(context_token)
                if span is not None:
                    span.end()
        finally:
            self._work.end(task)

    def _read(self, delivery: Delivery) -> tuple[bytes, Any]:
        """The body, decoded from its content encoding, and what the handler takes."""
        if delivery.malformed:
            raise DecodeError(f"the message's frames were not valid: {delivery.malformed}")
        body = read_body(delivery, json=reads_json(self.handler))
        return body, self.handler.decode(body)

    async def _process(self, delivery: Delivery, attempt: int) -> None:
        try:
            body, message = self._read(delivery)
        except Exception as exc:  # noqa: BLE001 - whatever fails to read the message is poison
            poison = (
                exc
                if isinstance(exc, DecodeError)
                else DecodeError(f"body could not be decoded: {type_name(exc)}")
            )
            _log.warning("poison message, dead-lettering", error=str(poison))
            await self._outcomes.dead_letter(delivery, poison, attempt)
            return
        if self._database_inbox is not None and delivery.message_id:
            await self._process_in_transaction(
                message, body, delivery, attempt, delivery.message_id
            )
            return
        key = await self._claim(delivery, attempt)
        if key is _SETTLED:
            return
        started = time.perf_counter()
        try:
            async with self._limit or contextlib.nullcontext():
                await self._call(message, body, delivery, attempt)
        except asyncio.CancelledError:
            # Shutdown cut the handler off (a handler's own raise is a failure: see _call).
            if key is not None:
                await asyncio.shield(self._claims_of().release(key))
            raise
        except Exception as exc:  # noqa: BLE001 - every handler failure is retried or dead-lettered
            self._telemetry.duration.record(time.perf_counter() - started, self._metric_attributes)
            if key is not None:
                await self._claims_of().release(key)
            await self._outcomes.failed(delivery, exc, attempt)
            return
        self._telemetry.duration.record(time.perf_counter() - started, self._metric_attributes)
        if key is not None:
            await self._claims_of().complete(key)
        await delivery.ack()
        self._telemetry.processed.add(1, self._metric_attributes)

    async def _process_in_transaction(
        self, message: Any, body: bytes, delivery: Delivery, attempt: int, message_id: str
    ) -> None:
        """Run the handler inside the database inbox's transaction, which marks it done."""
        assert self._database_inbox is not None  # noqa: S101 - checked by the caller
        started = time.perf_counter()
        try:
            async with (
                self._limit or contextlib.nullcontext(),
                self._database_inbox.processing(self.name, message_id) as new,
            ):
                if new:
                    await self._call(message, body, delivery, attempt)
        except Exception as exc:  # noqa: BLE001 - rolled back: retried or dead-lettered
            self._telemetry.duration.record(time.perf_counter() - started, self._metric_attributes)
            await self._outcomes.failed(delivery, exc, attempt)
            return
        if not new:
            # Its effects and its mark committed before: a redelivery, or a duplicate.
            self._telemetry.skipped.add(1, self._metric_attributes)
            await delivery.ack()
            return
        self._telemetry.duration.record(time.perf_counter() - started, self._metric_attributes)
        await delivery.ack()
        self._telemetry.processed.add(1, self._metric_attributes)

    async def _claim(self, delivery: Delivery, attempt: int) -> Claim | None:
        """Ask the inbox about an idempotent consumer's message.

        Returns the claim to complete or release (renewed meanwhile), None when there is
        nothing to record, or `_SETTLED` when the message was dealt with here (a
        duplicate).
        """
        if self._claims is None or not delivery.message_id:
            # A message without an id cannot be told from another: it is processed.
            return None
        answer = await self._claims.begin(f"{self.name}:{delivery.message_id}")
        if answer == "done":
            self._telemetry.skipped.add(1, self._metric_attributes)
            await delivery.ack()
            return _SETTLED
        if answer == "busy":
            await self._outcomes.retry(delivery, attempt, BUSY_DELAY)
            return _SETTLED
        return answer

    def _claims_of(self) -> Claims:
        assert self._claims is not None  # noqa: S101 - only called with a claim in hand
        return self._claims

    async def _call(self, message: Any, body: bytes, delivery: Delivery, attempt: int) -> None:
        try:
            await self._call_handler(message, body, delivery, attempt)
        except asyncio.CancelledError as exc:
            if _cancelled_from_outside():
                raise  # shutdown cut the handler off
            # The handler raised CancelledError by itself: its failure, not a shutdown.
            raise HandlerCancelledError("the handler raised CancelledError by itself") from exc

    async def _call_handler(
        self, message: Any, body: bytes, delivery: Delivery, attempt: int
    ) -> None:
        handler = self.handler
        if not handler.wants_incoming:
            await handler.func(message)
            return
        incoming = Incoming(
            body=body,
            topic=topic_of(delivery),
            message_id=delivery.message_id,
            attempt=attempt,
            redelivered=delivery.redelivered,
            headers=delivery.headers,
            correlation_id=delivery.correlation_id,
            timestamp=delivery.timestamp,
        )
        if handler.takes_only_incoming:
            await handler.func(incoming)
        else:
            await handler.func(message, incoming)
