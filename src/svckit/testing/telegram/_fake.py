"""`FakeTelegram`: a Bot API server on localhost that real aiogram talks to over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Self

from aiohttp import web

from svckit.core._extras import require
from svckit.core.logging import get_logger
from svckit.testing.telegram._delivery import deliver_forever
from svckit.testing.telegram._faults import Fault, FaultKind
from svckit.testing.telegram._http import routes
from svckit.testing.telegram._methods import now
from svckit.testing.telegram._model import ApiError, Chat, SentMessage, StoredFile, Updates
from svckit.testing.telegram._users import FakeGroup, FakeUser

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["FakeTelegram"]

_log = get_logger("svckit.testing.telegram")

#: The token a `FakeTelegram` accepts unless given another (the shape of a real one).
DEFAULT_TOKEN = "123456789:AAFakeTokenForTestsOnly0123456789abcde"  # noqa: S105 - a fake
#: The largest request the fake reads (Telegram takes uploads of up to 50 MB).
MAX_REQUEST = 60 * 1024 * 1024


class FakeTelegram:
    """A fake Telegram Bot API server, in this process, on ``127.0.0.1`` (a free port).

    Point a real aiogram ``Bot`` at it with ``TelegramAPIServer.from_base(fake.base_url)``
    (`api_server` builds that), or a `svckit.bot.BotService` with
    ``telegram_api_url=fake.base_url``. It answers getMe, getUpdates, the webhook methods,
    sendMessage, sendPhoto, sendDocument, editMessageText, answerCallbackQuery,
    sendChatAction and getFile, and serves file downloads, checking Telegram's limits.
    Only ``token`` is accepted (401 otherwise); the token is never logged.

    Example:
        ```python
        async with FakeTelegram() as telegram:
            ada = telegram.user("Ada")
            await ada.send("/start")
            [reply] = await ada.replies(1)
        ```

    Attributes:
        token: The bot token it accepts.
        updates: The updates waiting for the bot.
        files: The files it holds, by file id.
        requests: Every call, in order: ``(time.time(), method, chat_id)``.
        actions: Chat actions sent, in order: ``(chat_id, action)``.
        answers: Callback query answers, by query id.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        allow_http_webhooks: bool = True,
    ) -> None:
        """Prepare a server for the bot with ``token``; ``async with`` starts it.

        Args:
            token: The only bot token it accepts.
            host: The address it listens on.
            port: Its port; 0 picks a free one.
            allow_http_webhooks: Accept ``http://`` webhook URLs (Telegram requires
                HTTPS; a test's bot listens on plain HTTP).
        """
        self.token = token
        self.bot_id = int(token.partition(":")[0])
        self.allow_http_webhooks = allow_http_webhooks
        self._host = host
        self._port = port
        self.updates = Updates()
        self.files: dict[str, StoredFile] = {}
        self.requests: list[tuple[float, str, int | str | None]] = []
        self.actions: list[tuple[int, str]] = []
        self.answers: dict[str, str] = {}
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.webhook_error: tuple[float, str] | None = None
        self._chats: dict[int, Chat] = {}
        self._sent: dict[int, list[SentMessage]] = defaultdict(list)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._callbacks: set[str] = set()
        #: The injected faults, in the order they are matched.
        self.faults: list[Fault] = []
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1000)
        self._runner: web.AppRunner | None = None
        self._delivery: asyncio.Task[None] | None = None
        #: Set when a webhook URL is set (wakes the delivery).
        self.webhook_set = asyncio.Event()

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        """The server's base URL, for ``TelegramAPIServer.from_base``."""
        return f"http://{self._host}:{self._port}"

    def api_server(self) -> Any:
        """An aiogram ``TelegramAPIServer`` that points at this fake."""
        telegram = require("aiogram.client.telegram", "bot")
        return telegram.TelegramAPIServer.from_base(self.base_url)

    async def __aenter__(self) -> Self:
        """Start listening."""
        app = web.Application(client_max_size=MAX_REQUEST)
        routes(self, app)
        # No access log: the request line carries the bot token.
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        # aiohttp keeps the bound port only on the asyncio server.
        sockets = getattr(site._server, "sockets", None)  # noqa: SLF001
        if sockets:
            self._port = int(sockets[0].getsockname()[1])
        self._delivery = asyncio.get_running_loop().create_task(deliver_forever(self))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop listening and delivering."""
        self.updates.close()
        if self._delivery is not None:
            self._delivery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._delivery
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------------ users and chats

    def user(
        self,
        first_name: str = "Ada",
        *,
        user_id: int | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> FakeUser:
        """A user with a private chat with the bot (the chat id is the user id)."""
        user_id = user_id if user_id is not None else next(self._ids)
        self._chats[user_id] = Chat(
            id=user_id, type="private", first_name=first_name, username=username
        )
        return FakeUser(
            self,
            user_id=user_id,
            first_name=first_name,
            username=username,
            language_code=language_code,
        )

    def group(self, title: str = "Group", *, chat_id: int | None = None) -> FakeGroup:
        """A group the bot is in; its users send into it with ``chat=group``."""
        chat_id = chat_id if chat_id is not None else -next(self._ids)
        self._chats[chat_id] = Chat(id=chat_id, type="group", title=title)
        return FakeGroup(self, chat_id=chat_id, title=title)

    def chat(self, chat_id: int) -> Chat:
        """The chat ``chat_id`` (it must have been made with `user` or `group`)."""
        return self._chats[chat_id]

    # ------------------------------------------------------------------ what the bot sent

    def sent(self, chat_id: int) -> list[SentMessage]:
        """What the bot sent into ``chat_id``, in order."""
        return list(self._sent.get(chat_id, ()))

    async def wait_for(
        self, chat_id: int, count: int = 1, *, timeout: float = 10.0
    ) -> list[SentMessage]:
        """Wait until the bot has sent ``count`` messages into ``chat_id``; return them all.

        Raises:
            TimeoutError: fewer arrived within ``timeout`` seconds (the message says how
                many and what they were).
        """
        try:
            async with asyncio.timeout(timeout):
                await self.wait_until(lambda: len(self._sent.get(chat_id, ())) >= count)
        except TimeoutError:
            texts = [m.text for m in self.sent(chat_id)]
            raise TimeoutError(
                f"chat {chat_id}: {len(texts)} of {count} messages within {timeout}s: {texts}"
            ) from None
        return self.sent(chat_id)

    async def wait_until(self, condition: Any) -> None:
        """Wait (under the caller's deadline) until ``condition()`` is true."""
        async with self._changed:
            await self._changed.wait_for(condition)

    def notify(self) -> None:
        """Wake `wait_until` waiters: something changed."""

        async def wake() -> None:
            async with self._changed:
                self._changed.notify_all()

        task = asyncio.get_running_loop().create_task(wake())
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    # ------------------------------------------------------------------ faults

    def inject(
        self,
        kind: FaultKind,
        *,
        method: str | None = None,
        chat_id: int | str | None = None,
        times: int | None = 1,
        retry_after: int = 1,
        status: int = 500,
        delay: float = 1.0,
    ) -> Fault:
        """Make the next matching requests fail; see `Fault` for the kinds.

        Example:
            ```python
            telegram.inject("retry_after", method="sendMessage", chat_id=ada.id, retry_after=2)
            ```
        """
        fault = Fault(
            kind=kind,
            method=method,
            chat_id=chat_id,
            times=times,
            retry_after=retry_after,
            status=status,
            delay=delay,
        )
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self.faults.clear()

    # ------------------------------------------------------------------ used by the methods

    def bot_user(self) -> dict[str, Any]:
        """The bot's ``User`` object."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Fake bot",
            "username": "fake_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def chat_for(self, params: dict[str, Any]) -> Chat:
        """The chat named by ``chat_id``; 400 ``chat not found`` when there is none."""
        raw = params.get("chat_id")
        try:
            chat = self._chats.get(int(raw)) if raw is not None else None
        except (TypeError, ValueError):
            chat = None
        if chat is None:
            raise ApiError.bad_request("chat not found")
        return chat

    def next_message_id(self, chat_id: int) -> int:
        """The next message id in ``chat_id``."""
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        return next(counter)

    def record(self, sent: SentMessage) -> SentMessage:
        """Keep ``sent`` as a message the bot sent."""
        self._sent[sent.chat_id].append(sent)
        self.notify()
        return sent

    def find_sent(self, chat_id: int, message_id: int | None) -> SentMessage | None:
        """A message the bot sent, by chat and message id."""
        for sent in self._sent.get(chat_id, ()):
            if sent.message_id == message_id:
                return sent
        return None

    def message_json(self, sent: SentMessage, **fields: Any) -> dict[str, Any]:
        """The ``Message`` object Telegram returns for ``sent``."""
        message: dict[str, Any] = {
            "message_id": sent.message_id,
            "date": now(),
            "chat": self._chats[sent.chat_id].as_json(),
            "from": self.bot_user(),
        }
        message.update({k: v for k, v in fields.items() if v is not None})
        return message

    def store_file(
        self, content: bytes | None, folder: str, name: str, *, size: int | None = None
    ) -> StoredFile:
        """Hold a file (bytes, or only the size it reports) for getFile and downloads."""
        file_id = f"F{secrets.token_urlsafe(16)}"
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=f"U{secrets.token_urlsafe(8)}",
            size=size if size is not None else len(content or b""),
            content=content,
            path=f"{folder}/file_{len(self.files)}{_suffix(name)}",
        )
        self.files[file_id] = stored
        return stored

    def new_callback(self) -> str:
        """A callback query id the bot may answer once."""
        query_id = secrets.token_hex(8)
        self._callbacks.add(query_id)
        return query_id

    def take_callback(self, query_id: str) -> bool:
        """Whether ``query_id`` is a query not answered yet (and mark it answered)."""
        if query_id in self._callbacks:
            self._callbacks.discard(query_id)
            return True
        return False

    def set_webhook(self, url: str | None, secret: str | None) -> None:
        """Send updates to ``url`` from now on (``None``: back to getUpdates)."""
        self.webhook_url, self.webhook_secret = url, secret
        self.webhook_error = None
        self.updates.wake()
        if url:
            self.webhook_set.set()

    def add_update(self, kind: str, payload: dict[str, Any]) -> int:
        """Queue an update for the bot; return its id (users call this)."""
        update_id = self.updates.add(kind, payload)
        self.notify()
        return update_id


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    suffix = name[dot:] if dot != -1 else ""
    return suffix if suffix[1:].isalnum() and len(suffix) <= 8 else ""  # noqa: PLR2004
