"""A running consumer: the path of one delivery from the broker to its acknowledgement.

For each delivery, in order:

1. decode the body into what the handler takes; a body that cannot be decoded or
   validated is poison and goes to dead letters at once;
2. with ``idempotent=True``, ask the inbox: a message id already done is acknowledged
   and skipped, one held by another consumer waits in a delay queue;
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
import itertools
import secrets
import time
from datetime import UTC, datetime
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
from svckit.messaging._content import read_body
from svckit.messaging._handling import (
    attempt_of,
    copy_to,
    delay_bucket_ms,
    error_message,
    give_back,
    has_validation_error,
    header_budget,
    past_deadline,
    request_id_of,
    topic_of,
    traceback_excerpt,
    type_name,
)
from svckit.messaging.consumer import BoundHandler, Incoming, reads_json
from svckit.messaging.control import Reject, RetryLater
from svckit.messaging.transport import Headers, QueueSpec

if TYPE_CHECKING:
    from svckit.messaging._metrics import BusTelemetry
    from svckit.messaging.idempotency import IdempotencyStore
    from svckit.messaging.transport import Delivery, Subscription, Transport

_log = get_logger("svckit.consumer")

#: How long a duplicate waits when another consumer holds its message id.
BUSY_DELAY = 1.0
#: The longest pause before a message whose outcome could not be recorded goes back.
GIVE_BACK_PAUSE = 5.0


class _Claim:
    """An idempotent consumer's lease on a message id, renewed while the handler runs."""

    __slots__ = ("holder", "key", "renewal")

    def __init__(self, key: str, holder: str) -> None:
        self.key = key
        self.holder = holder
        self.renewal: asyncio.Task[None] | None = None

    def stop_renewing(self) -> None:
        if self.renewal is not None:
            self.renewal.cancel()
            self.renewal = None


#: What `Consumer._claim` returns for a message it settled itself.
_SETTLED = _Claim("", "")


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
        self._inbox = inbox
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
        self._delay_queues: dict[int, str] = {}
        # Inbox claims name their holder: this consumer, then a count of its deliveries.
        self._holder = f"{secrets.token_hex(6)}-"
        self._claims = itertools.count()
        self._attributes = {
            MESSAGING_SYSTEM: "rabbitmq",
            MESSAGING_DESTINATION_NAME: self.name,
            MESSAGING_CONSUMER_GROUP_NAME: self.name,
            MESSAGING_OPERATION_TYPE: "process",
        }
        self._metric_attributes = {"queue": self.name}
        if spec.idempotent and inbox is None:
            raise LifecycleError(f"consumer {self.name} is idempotent but the bus has no inbox")

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

    async def _process(self, delivery: Delivery, attempt: int) -> None:
        handler = self.handler
        try:
            if delivery.malformed:
                raise DecodeError(f"the message's frames were not valid: {delivery.malformed}")
            body = read_body(delivery, json=reads_json(handler))
            message = handler.decode(body)
        except Exception as exc:  # noqa: BLE001 - whatever fails to read the message is poison
            poison = (
                exc
                if isinstance(exc, DecodeError)
                else DecodeError(f"body could not be decoded: {type_name(exc)}")
            )
            _log.warning("poison message, dead-lettering", error=str(poison))
            await self._dead_letter(delivery, poison, attempt)
            return
        key = await self._claim(delivery, attempt)
        if key is _SETTLED:
            return
        started = time.perf_counter()
        try:
            if self._limit is None:
                await self._call(message, body, delivery, attempt)
            else:
                async with self._limit:
                    await self._call(message, body, delivery, attempt)
        except asyncio.CancelledError as exc:
            if key is not None:
                await asyncio.shield(self._release(key))
            if _cancelled_from_outside():
                raise  # shutdown cut the handler off
            # The handler raised CancelledError by itself: its failure, not a shutdown.
            self._telemetry.duration.record(time.perf_counter() - started, self._metric_attributes)
            failure = HandlerCancelledError("the handler raised CancelledError by itself")
            failure.__cause__ = exc
            await self._on_failure(delivery, failure, attempt)
            return
        except Exception as exc:  # noqa: BLE001 - every handler failure is retried or dead-lettered
            self._telemetry.duration.record(time.perf_counter() - started, self._metric_attributes)
            if key is not None:
                await self._release(key)
            await self._on_failure(delivery, exc, attempt)
            return
        self._telemetry.duration.record(time.perf_counter() - started, self._metric_attributes)
        if key is not None:
            await self._complete(key)
        await delivery.ack()
        self._telemetry.processed.add(1, self._metric_attributes)

    async def _claim(self, delivery: Delivery, attempt: int) -> _Claim | None:
        """Ask the inbox about an idempotent consumer's message.

        Returns the claim to complete or release (renewed meanwhile), None when there is
        nothing to record, or `_SETTLED` when the message was dealt with here (a
        duplicate).
        """
        if not self.handler.spec.idempotent or not delivery.message_id:
            # A message without an id cannot be told from another: it is processed.
            return None
        assert self._inbox is not None  # noqa: S101 - checked in __init__
        claim = _Claim(f"{self.name}:{delivery.message_id}", f"{self._holder}{next(self._claims)}")
        lease = self.handler.spec.idempotency_lease
        try:
            state = await self._inbox.begin(claim.key, lease, holder=claim.holder)
        except Exception:  # noqa: BLE001 - the inbox is a best effort on top of at-least-once
            _log.warning("idempotency inbox unavailable; processing without it", exc_info=True)
            return None
        if state == "done":
            self._telemetry.skipped.add(1, self._metric_attributes)
            await delivery.ack()
            return _SETTLED
        if state == "busy":
            await self._retry(delivery, attempt, BUSY_DELAY)
            return _SETTLED
        claim.renewal = asyncio.get_running_loop().create_task(self._renew(claim, lease))
        return claim

    async def _renew(self, claim: _Claim, lease: float) -> None:
        """Keep ``claim`` alive while the handler runs: renew it every third of the lease."""
        assert self._inbox is not None  # noqa: S101
        while True:
            await asyncio.sleep(lease / 3)
            try:
                held = await self._inbox.renew(claim.key, lease, holder=claim.holder)
            except Exception:  # noqa: BLE001 - tried again at the next third
                _log.warning("could not renew the idempotency lease", exc_info=True)
                continue
            if not held:
                _log.warning(
                    "the idempotency lease was lost while the handler ran; "
                    "a duplicate of the message may run meanwhile",
                )
                return

    async def _complete(self, claim: _Claim) -> None:
        assert self._inbox is not None  # noqa: S101
        claim.stop_renewing()
        try:
            await self._inbox.complete(claim.key, self.handler.spec.idempotency_ttl)
        except Exception:  # noqa: BLE001 - the work is done; a duplicate may run again later
            _log.warning("could not record the message as processed", exc_info=True)

    async def _call(self, message: Any, body: bytes, delivery: Delivery, attempt: int) -> None:
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

    async def _release(self, claim: _Claim) -> None:
        assert self._inbox is not None  # noqa: S101
        claim.stop_renewing()
        try:
            await self._inbox.release(claim.key, holder=claim.holder)
        except Exception:  # noqa: BLE001 - the lease expires by itself
            _log.warning("could not release the idempotency claim", exc_info=True)

    async def _on_failure(self, delivery: Delivery, exc: Exception, attempt: int) -> None:
        self._telemetry.failed.add(1, self._metric_attributes)
        record_failure(get_current_span(), exc)
        policy = self.handler.spec.retry
        if isinstance(exc, Reject):
            _log.warning("handler rejected the message", reason=exc.reason)
            await self._dead_letter(delivery, exc, attempt)
            return
        retryable = isinstance(exc, RetryLater) or policy.should_retry(exc, attempt)
        if attempt >= policy.attempts or not retryable:
            _log.error(
                "handler failed, dead-lettering",
                attempt=attempt,
                error_type=type(exc).__name__,
                **_failure_fields(exc),
            )
            await self._dead_letter(delivery, exc, attempt)
            return
        delay = exc.after if isinstance(exc, RetryLater) and exc.after is not None else None
        if delay is None:
            delay = policy.delay(attempt)
        if past_deadline(delivery, policy.deadline, delay):
            _log.error("handler failed and the retry deadline has passed, dead-lettering")
            await self._dead_letter(delivery, exc, attempt)
            return
        _log.warning(
            "handler failed, will retry",
            attempt=attempt,
            delay_s=round(delay, 3),
            error_type=type(exc).__name__,
            error=error_message(exc),
        )
        await self._retry(delivery, attempt + 1, delay)
        self._telemetry.retried.add(1, self._metric_attributes)

    async def _retry(self, delivery: Delivery, next_attempt: int, delay: float) -> None:
        ms = delay_bucket_ms(delay)
        queue = self._delay_queues.get(ms)
        if queue is None:
            queue = await self._transport.declare_delay_queue(self.queue, ms)
            self._delay_queues[ms] = queue
        own = {Headers.ATTEMPT: next_attempt, Headers.ROUTING_KEY: topic_of(delivery)}
        copy = copy_to(delivery, queue, own, budget=header_budget(self._transport))
        await self._transport.publish("", copy, mandatory=True)
        await delivery.ack()

    async def _dead_letter(self, delivery: Delivery, exc: BaseException, attempt: int) -> None:
        own = {
            Headers.ATTEMPT: attempt,
            Headers.ERROR_TYPE: type_name(exc),
            Headers.ERROR_MESSAGE: error_message(exc),
            Headers.ERROR_TRACEBACK: traceback_excerpt(exc),
            Headers.DEAD_LETTERED_AT: datetime.now(UTC).isoformat(),
            Headers.QUEUE: self.name,
            Headers.ROUTING_KEY: topic_of(delivery),
        }
        dead_letter_queue = self.queue.dead_letter_queue
        budget = header_budget(self._transport)
        try:
            await self._transport.publish(
                "", copy_to(delivery, dead_letter_queue, own, budget=budget), mandatory=True
            )
        except Exception as refused:  # noqa: BLE001 - retried bare below; an outage raises there
            # Whatever of the message's own content made the copy fail, a copy without
            # its foreign headers and properties still reaches the dead letters: a message
            # must not loop through redeliveries because it cannot be dead-lettered.
            _log.warning(
                "could not dead-letter the full copy; sending it without its headers",
                error_type=type_name(refused),
            )
            own[Headers.DROPPED_HEADERS] = "*"
            bare = copy_to(delivery, dead_letter_queue, own, bare=True, budget=budget)
            await self._transport.publish("", bare, mandatory=True)
        await delivery.ack()
        self._telemetry.dead_lettered.add(1, self._metric_attributes)


def _failure_fields(exc: BaseException) -> dict[str, Any]:
    # A pydantic error's text shows the input values: log its summary, not the traceback.
    if has_validation_error(exc):
        return {"error": error_message(exc), "traceback": traceback_excerpt(exc)}
    return {"exc_info": exc}
