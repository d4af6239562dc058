"""Messaging: events and commands over RabbitMQ or the embedded broker.

Publish with `Bus.publish`; consume with functions marked by `consumer`. Delivery is at
least once: a message is acknowledged only after its handler returned, failures retry
through delay queues by a `RetryPolicy`, and what cannot succeed lands in the queue's
dead-letter queue with the error.
"""

from svckit.messaging.bus import DEFAULT_EXCHANGE, Bus, transport_for_url
from svckit.messaging.consumer import ConsumerSpec, Incoming, consumer
from svckit.messaging.control import Reject, RetryLater
from svckit.messaging.idempotency import IdempotencyStore, KeyValueInbox, MemoryInbox
from svckit.messaging.memory import MemoryBroker, MemoryTransport
from svckit.messaging.message import Command, Event, Message
from svckit.messaging.router import ConsumerRouter
from svckit.messaging.topics import topic_matches
from svckit.messaging.transport import Delivery, Headers, Outgoing, QueueSpec, QueueType, Transport

__all__ = [
    "DEFAULT_EXCHANGE",
    "Bus",
    "Command",
    "ConsumerRouter",
    "ConsumerSpec",
    "Delivery",
    "Event",
    "Headers",
    "IdempotencyStore",
    "Incoming",
    "KeyValueInbox",
    "MemoryBroker",
    "MemoryInbox",
    "MemoryTransport",
    "Message",
    "Outgoing",
    "QueueSpec",
    "QueueType",
    "Reject",
    "RetryLater",
    "Transport",
    "consumer",
    "topic_matches",
    "transport_for_url",
]
