"""The Bot API methods the fake Telegram server answers, with Telegram's own checks."""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING, Any, Literal

from svckit.testing.telegram._html import EntityError, utf16_length, visible_text
from svckit.testing.telegram._model import DOWNLOAD_LIMIT, ApiError, SentMessage

if TYPE_CHECKING:
    from svckit.testing.telegram._fake import FakeTelegram
    from svckit.testing.telegram._model import StoredFile

__all__ = ["METHODS", "Upload"]

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_TEXT_LIMIT = 200
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    },
)


class Upload:
    """A file part of a multipart request: its bytes and the name it was sent under."""

    def __init__(self, content: bytes, filename: str | None) -> None:
        """Keep ``content`` as it came."""
        self.content = content
        self.filename = filename


Params = dict[str, Any]


async def get_me(fake: FakeTelegram, _params: Params) -> Any:
    """getMe: the bot's own user."""
    return fake.bot_user()


async def get_updates(fake: FakeTelegram, params: Params) -> Any:
    """getUpdates: long polling with offset, limit and timeout; 409 beside a webhook."""
    if fake.webhook_url:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; use "
            "deleteWebhook to delete the webhook first",
        )
    offset = _int(params, "offset")
    if offset is not None:
        fake.updates.confirm(offset)
    limit = min(max(_int(params, "limit") or 100, 1), 100)
    timeout = max(_int(params, "timeout") or 0, 0)
    return await fake.updates.poll(limit, timeout)


async def set_webhook(fake: FakeTelegram, params: Params) -> Any:
    """setWebhook: from now on updates go to the URL, with the secret in a header."""
    url = str(params.get("url") or "")
    secret = params.get("secret_token")
    if secret is not None and not _SECRET_TOKEN.fullmatch(str(secret)):
        raise ApiError.bad_request("secret token contains unallowed characters")
    if url and not url.startswith(("https://", "http://")):
        raise ApiError.bad_request("invalid webhook URL specified")
    if url.startswith("http://") and not fake.allow_http_webhooks:
        raise ApiError.bad_request("bad webhook: HTTPS url must be provided for webhook")
    if _flag(params, "drop_pending_updates"):
        fake.updates.drop()
    fake.set_webhook(url or None, str(secret) if secret is not None else None)
    return True


async def delete_webhook(fake: FakeTelegram, params: Params) -> Any:
    """deleteWebhook: back to getUpdates."""
    if _flag(params, "drop_pending_updates"):
        fake.updates.drop()
    fake.set_webhook(None, None)
    return True


async def get_webhook_info(fake: FakeTelegram, _params: Params) -> Any:
    """getWebhookInfo: where updates go and how many wait."""
    info: dict[str, Any] = {
        "url": fake.webhook_url or "",
        "has_custom_certificate": False,
        "pending_update_count": len(fake.updates.pending),
    }
    if fake.webhook_url:
        info["max_connections"] = 40
    if fake.webhook_error is not None:
        info["last_error_date"] = int(fake.webhook_error[0])
        info["last_error_message"] = fake.webhook_error[1]
    return info


async def send_message(fake: FakeTelegram, params: Params) -> Any:
    """sendMessage: 1-4096 characters after entity parsing."""
    chat = fake.chat_for(params)
    text = str(params.get("text") or "")
    shown = _visible(text, params.get("parse_mode"))
    if not shown.strip():
        raise ApiError.bad_request("message text is empty")
    if utf16_length(shown) > MESSAGE_LIMIT:
        raise ApiError.bad_request("message is too long")
    sent = fake.record(
        SentMessage(
            chat_id=chat.id,
            message_id=fake.next_message_id(chat.id),
            method="sendMessage",
            text=text,
            parse_mode=_str(params, "parse_mode"),
            reply_markup=_json(params.get("reply_markup")),
        ),
    )
    return fake.message_json(sent, text=shown)


async def send_photo(fake: FakeTelegram, params: Params) -> Any:
    """sendPhoto: an upload (kept as bytes) or a file id; a caption up to 1024 characters."""
    sent, stored, caption, _ = _send_file(fake, params, "photo", "sendPhoto")
    photo = [
        {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "width": 90,
            "height": 90,
            "file_size": stored.size,
        },
    ]
    return fake.message_json(sent, caption=caption, photo=photo)


async def send_document(fake: FakeTelegram, params: Params) -> Any:
    """sendDocument: an upload (kept as bytes) or a file id."""
    sent, stored, caption, file_name = _send_file(fake, params, "document", "sendDocument")
    document = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_name": file_name or "document",
        "file_size": stored.size,
    }
    return fake.message_json(sent, caption=caption, document=document)


def _send_file(
    fake: FakeTelegram, params: Params, kind: Literal["photo", "document"], method: str
) -> tuple[SentMessage, StoredFile, str | None, str | None]:
    """Record a sendPhoto or sendDocument and store its file.

    Returns the message, the stored file, the caption as shown (checked before anything is
    stored) and the upload's file name.
    """
    chat = fake.chat_for(params)
    caption = _caption(params)
    content, file_name = _file(fake, params, kind)
    sent = fake.record(
        SentMessage(
            chat_id=chat.id,
            message_id=fake.next_message_id(chat.id),
            method=method,
            text=params.get("caption"),
            parse_mode=_str(params, "parse_mode"),
            file_name=file_name,
            reply_markup=_json(params.get("reply_markup")),
            photo=content if kind == "photo" else None,
            document=content if kind == "document" else None,
        ),
    )
    default = "photo.jpg" if kind == "photo" else "document"
    stored = fake.store_file(content, f"{kind}s", file_name or default)
    return sent, stored, caption, file_name


async def edit_message_text(fake: FakeTelegram, params: Params) -> Any:
    """editMessageText: a message the bot sent, to a new text."""
    chat = fake.chat_for(params)
    message_id = _int(params, "message_id")
    sent = fake.find_sent(chat.id, message_id)
    if sent is None:
        raise ApiError.bad_request("message to edit not found")
    text = str(params.get("text") or "")
    shown = _visible(text, params.get("parse_mode"))
    if not shown.strip():
        raise ApiError.bad_request("message text is empty")
    if utf16_length(shown) > MESSAGE_LIMIT:
        raise ApiError.bad_request("MESSAGE_TOO_LONG")
    current = sent.edits[-1] if sent.edits else sent.text
    if current == text:
        raise ApiError.bad_request(
            "message is not modified: specified new message content and reply markup are "
            "exactly the same as a current content and reply markup of the message"
        )
    sent.edits.append(text)
    fake.notify()
    return fake.message_json(sent, text=shown)


async def answer_callback_query(fake: FakeTelegram, params: Params) -> Any:
    """answerCallbackQuery: once per query, text up to 200 characters."""
    query_id = str(params.get("callback_query_id") or "")
    if not fake.take_callback(query_id):
        raise ApiError.bad_request(
            "query is too old and response timeout expired or query ID is invalid"
        )
    text = str(params.get("text") or "")
    if len(text) > CALLBACK_TEXT_LIMIT:
        raise ApiError.bad_request("MESSAGE_TOO_LONG")
    fake.answers[query_id] = text
    fake.notify()
    return True


async def send_chat_action(fake: FakeTelegram, params: Params) -> Any:
    """sendChatAction: one of Telegram's actions."""
    chat = fake.chat_for(params)
    action = str(params.get("action") or "")
    if action not in _CHAT_ACTIONS:
        raise ApiError.bad_request("wrong parameter action in request")
    fake.actions.append((chat.id, action))
    return True


async def get_file(fake: FakeTelegram, params: Params) -> Any:
    """getFile: a file's path for download; 400 for one over 20 MB."""
    stored = fake.files.get(str(params.get("file_id") or ""))
    if stored is None:
        raise ApiError.bad_request("invalid file_id")
    if stored.size > DOWNLOAD_LIMIT:
        raise ApiError.bad_request("file is too big")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
        "file_path": stored.path,
    }


async def close_or_log_out(_fake: FakeTelegram, _params: Params) -> Any:
    """Close / logOut: accepted."""
    return True


METHODS: dict[str, Any] = {
    "getme": get_me,
    "getupdates": get_updates,
    "setwebhook": set_webhook,
    "deletewebhook": delete_webhook,
    "getwebhookinfo": get_webhook_info,
    "sendmessage": send_message,
    "sendphoto": send_photo,
    "senddocument": send_document,
    "editmessagetext": edit_message_text,
    "answercallbackquery": answer_callback_query,
    "sendchataction": send_chat_action,
    "getfile": get_file,
    "close": close_or_log_out,
    "logout": close_or_log_out,
}


def _visible(text: str, parse_mode: Any) -> str:
    if str(parse_mode or "").upper() != "HTML":
        return text
    try:
        return visible_text(text)
    except EntityError as exc:
        raise ApiError.bad_request(str(exc)) from None


def _caption(params: Params) -> str | None:
    caption = params.get("caption")
    if caption is None:
        return None
    shown = _visible(str(caption), params.get("parse_mode"))
    if utf16_length(shown) > CAPTION_LIMIT:
        raise ApiError.bad_request("message caption is too long")
    return shown


def _file(fake: FakeTelegram, params: Params, name: str) -> tuple[bytes, str | None]:
    value = params.get(name)
    if isinstance(value, Upload):
        return value.content, value.filename
    text = str(value or "")
    if text.startswith("attach://"):
        attached = params.get(text.removeprefix("attach://"))
        if isinstance(attached, Upload):
            return attached.content, attached.filename
        raise ApiError.bad_request(f"wrong HTTP URL specified for {name}")
    stored = fake.files.get(text)
    if stored is None:
        raise ApiError.bad_request("wrong file identifier/HTTP URL specified")
    return stored.content or b"", None


def _int(params: Params, name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError.bad_request(f"invalid {name} specified") from None


def _str(params: Params, name: str) -> str | None:
    value = params.get(name)
    return None if value is None else str(value)


def _flag(params: Params, name: str) -> bool:
    return str(params.get(name, "")).lower() in {"true", "1"}


def _json(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise ApiError.bad_request("can't parse reply keyboard markup JSON object") from None


def now() -> int:
    """Telegram's dates: Unix seconds."""
    return int(time.time())
