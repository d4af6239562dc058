"""Where a harness's settings come from: the environment and the overrides, never `.env`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from svckit.testing import ServiceHarness
from tests.worker.sample_services import Thumbnails

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


def test_a_dotenv_file_in_the_working_directory_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(
        "THUMBS_THUMBNAIL_SIZE=7\nTHUMBS_BUS_URL=amqp://guest:guest@127.0.0.1:5672/\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("THUMBS_THUMBNAIL_SIZE", raising=False)

    settings = ServiceHarness(Thumbnails).service.settings

    assert settings.thumbnail_size == 128
    assert settings.bus_url.get_secret_value().startswith("memory://")


def test_the_environment_is_read_and_overrides_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THUMBS_THUMBNAIL_SIZE", "64")

    assert ServiceHarness(Thumbnails).service.settings.thumbnail_size == 64
    assert ServiceHarness(Thumbnails, thumbnail_size=32).service.settings.thumbnail_size == 32
