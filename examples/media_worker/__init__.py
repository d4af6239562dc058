"""The media worker example: a `WorkerService` holding domain code only.

Three kinds of consumer:

- media processing: ``media.process`` commands name stored originals; the worker makes
  a thumbnail, a compressed copy and metadata off the event loop, stores them, keeps a
  status and publishes ``media.processed`` or ``media.failed``;
- notifications: ``user.created`` and ``user.updated`` become messages delivered at
  most once, to the log or to a webhook;
- analytics: every message is counted per topic per hour and per user.

Run it::

    svckit run examples.media_worker:MediaWorker

or see it take the bundled sample image end to end::

    python -m examples.media_worker
"""

from examples.media_worker.service import MediaWorker
from examples.media_worker.settings import MediaWorkerSettings

__all__ = ["MediaWorker", "MediaWorkerSettings"]
