from tests.bot._support import mode, telegram

__all__ = ["mode", "telegram"]
