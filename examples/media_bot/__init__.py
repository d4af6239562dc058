"""The media bot: a thin `svckit.bot.BotService` with domain code only.

- /start greets the user by name, /help lists the commands;
- a photo (its largest size) or an image file is checked against Telegram's 20 MB
  download limit, downloaded, put in the content store, and a ``media.process`` command
  names it; the user gets the upload's id;
- the media worker's outcome comes back: the thumbnail with a caption, or why it failed
  in the user's words;
- /files lists the user's uploads and where each one is.

Run it (with the media worker beside it)::

    MEDIA_BOT_BOT_TOKEN=123:ABC... svckit run examples.media_bot:MediaBot
"""

from examples.media_bot.service import MediaBot
from examples.media_bot.settings import MediaBotSettings

__all__ = ["MediaBot", "MediaBotSettings"]
