"""`BotService`: an aiogram 3 Dispatcher run by the service lifecycle."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.utils.token import TokenValidationError, validate_token

from svckit.bot._flood import FloodControl
from svckit.bot._fsm import CacheStorage
from svckit.bot._polling import Polling
from svckit.bot._telegram import BoundIds, PerCall, TelegramResource, handle_update
from svckit.bot._webhook import Webhook
from svckit.bot.settings import BotSettings
from svckit.chassis import ChassisService
from svckit.core.errors import ConfigurationError

if TYPE_CHECKING:
    from aiogram.client.session.base import BaseSession
    from aiogram.types import Update

    from svckit.cache import Cache
    from svckit.core.resource import Resource
    from svckit.core.work import Intake
    from svckit.db import Database
    from svckit.messaging import Bus
    from svckit.storage import ContentStore

__all__ = ["BotService"]


class BotService(ChassisService):
    """A Telegram bot: aiogram routers, run by the service lifecycle, with the chassis.

    Declare aiogram ``Router`` objects in ``bot_routers``. Handlers take by keyword what
    aiogram gives (``message``, ``state``, ``bot``...) and the service's ``bus``,
    ``cache``, ``storage``, ``settings`` and ``service``; with ``uses_database = True``,
    ``session`` is a database session in a transaction around the handler. Consumers of
    the bus (``consumer`` methods, ``routers``) take ``bot`` to send messages.

    Long polling by default, acknowledging an update only once its handler finished;
    webhook mode with ``bot_mode = "webhook"``. Outgoing messages keep Telegram's flood
    limits (`FloodControl`), shared through the cache; FSM states live in the cache
    (`CacheStorage`). Shutdown: readiness false, intake stops, running handlers finish
    under ``shutdown_timeout``, then the bot's session closes.

    Example:
        ```python
        router = Router()

        @router.message(CommandStart())
        async def start(message: Message, cache: Cache) -> None:
            await message.answer("Hello!")

        class Greeter(BotService):
            settings: GreeterSettings
            bot_routers = (router,)
        ```

    Attributes:
        bot: The aiogram ``Bot``.
        dispatcher: The aiogram ``Dispatcher`` the routers are included in.
        flood: The flood control in the bot's session.
        front: The intake: `Polling` or `Webhook`.
    """

    settings: BotSettings
    bot_routers: ClassVar[Sequence[Router]] = ()

    def __init__(
        self,
        settings: BotSettings | None = None,
        *,
        bus: Bus | None = None,
        cache: Cache | None = None,
        storage: ContentStore | None = None,
        db: Database | None = None,
        session: BaseSession | None = None,
    ) -> None:
        """Build the bot, its session (with flood control) and the dispatcher.

        Args:
            settings: The bot's settings (read from the environment by default).
            bus: A bus to use instead of one made from the settings.
            cache: A cache to use instead of one made from the settings.
            storage: A content store to use instead of one made from the settings.
            db: A database to use instead of one made from the settings.
            session: An aiogram session to use instead of an ``AiohttpSession`` on
                ``telegram_api_url``.

        Raises:
            ConfigurationError: the bot token is missing or not a token's shape (the
                message never shows it).
        """
        super().__init__(settings, bus=bus, cache=cache, storage=storage, db=db)
        token = self.settings.bot_token.get_secret_value()
        try:
            validate_token(token)
        except TokenValidationError:
            raise ConfigurationError(
                f"{self.settings.env_name('bot_token')} is not set or is not a bot token "
                "(digits, a colon, then the secret part, as @BotFather gives it)",
            ) from None
        if session is None:
            url = self.settings.telegram_api_url
            session = (
                AiohttpSession(api=TelegramAPIServer.from_base(url)) if url else AiohttpSession()
            )
        self.flood = FloodControl(
            self.cache,
            global_rate=self.settings.flood_global_rate,
            private_rate=self.settings.flood_private_rate,
            group_rate=self.settings.flood_group_rate,
        )
        session.middleware(self.flood)
        self.bot = Bot(token, session=session)
        self.dispatcher = self._build_dispatcher()
        self.front = self._build_front()

    def _build_dispatcher(self) -> Dispatcher:
        dispatcher = Dispatcher(storage=CacheStorage(self.cache), name=self.name)
        values: dict[str, Any] = {
            "bus": self.bus,
            "cache": self.cache,
            "storage": self.storage,
            "settings": self.settings,
            "service": self,
        }
        if "db" in vars(self):
            values["db"] = self.db
        dispatcher.workflow_data.update(values)
        dispatcher.update.outer_middleware(BoundIds())
        per_call = self.per_call_dependencies()
        if per_call:
            middleware = PerCall(per_call)
            for name, observer in dispatcher.observers.items():
                if name not in {"update", "error"}:
                    observer.middleware(middleware)
        for router in self.bot_routers:
            _detach(router)
            dispatcher.include_router(router)
        return dispatcher

    def _build_front(self) -> Polling | Webhook:
        settings = self.settings
        allowed = self.dispatcher.resolve_used_update_types()
        if settings.bot_mode == "webhook":
            secret = settings.webhook_secret
            return Webhook(
                self.bot,
                self.process_update,
                url=settings.webhook_url or "",
                secret=secret.get_secret_value() if secret else None,
                host=settings.webhook_host,
                port=settings.webhook_port,
                concurrency=settings.bot_concurrency,
                allowed_updates=allowed,
            )
        return Polling(
            self.bot,
            self.process_update,
            timeout=settings.polling_timeout,
            concurrency=settings.bot_concurrency,
            allowed_updates=allowed,
        )

    async def process_update(self, update: Update) -> None:
        """Handle one update through the dispatcher (what polling and the webhook call)."""
        await handle_update(self.dispatcher, self.bot, update)

    def resources(self) -> Sequence[Resource]:
        """The chassis's resources, then the bot's session (closed first, after the drain)."""
        return [*super().resources(), self._telegram]

    def intakes(self) -> Sequence[Intake]:
        """The consumers, then the front (stopped first on shutdown)."""
        return [*super().intakes(), self.front]

    @property
    def _telegram(self) -> TelegramResource:
        resource: TelegramResource | None = vars(self).get("_telegram_resource")
        if resource is None:
            resource = self.__dict__["_telegram_resource"] = TelegramResource(self.bot)
        return resource


def _detach(router: Router) -> None:
    # A router is included in one dispatcher at a time; a new instance of the service (a
    # test's, a restart's) takes the class's routers from the one before.
    parent = router.parent_router
    if parent is not None:
        parent.sub_routers.remove(router)
        router._parent_router = None  # noqa: SLF001 - aiogram offers no detach
