"""The error tree: one root, a shallow tree, and missing extras that say how to install them."""

from __future__ import annotations

import inspect
import sys
from typing import TYPE_CHECKING

import pytest

import svckit
from svckit.core import errors
from svckit.core._extras import require

if TYPE_CHECKING:
    from pathlib import Path

ERROR_NAMES = sorted(errors.__all__)


@pytest.mark.parametrize("name", ERROR_NAMES)
def test_every_error_derives_from_the_root(name: str) -> None:
    error = getattr(errors, name)
    assert issubclass(error, svckit.SvckitError)


@pytest.mark.parametrize("name", ERROR_NAMES)
def test_every_error_is_exported_at_the_top_level(name: str) -> None:
    assert getattr(svckit, name) is getattr(errors, name)
    assert name in svckit.__all__


def test_no_other_exception_class_hides_in_the_errors_module() -> None:
    declared = {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value)
        and issubclass(value, BaseException)
        and value.__module__ == errors.__name__
    }
    assert declared == set(ERROR_NAMES)


def test_tree_is_shallow() -> None:
    # Depth below the root: a user should not need a map to catch the right thing.
    def depth(error: type[BaseException]) -> int:
        parents = [base for base in error.__bases__ if issubclass(base, errors.SvckitError)]
        return 0 if not parents else 1 + max(depth(base) for base in parents)

    assert max(depth(getattr(errors, name)) for name in ERROR_NAMES) <= 3


def test_tree_matches_the_drawing() -> None:
    assert issubclass(errors.UnroutableError, errors.PublishError)
    assert issubclass(errors.PublishError, errors.MessagingError)
    assert issubclass(errors.DecodeError, errors.MessagingError)
    assert not issubclass(errors.CacheError, errors.MessagingError)
    assert not issubclass(errors.ConfigurationError, ValueError)
    assert issubclass(errors.ContentTooLargeError, errors.StorageError)
    assert issubclass(errors.InvalidKeyError, errors.StorageError)
    assert issubclass(errors.InvalidKeyError, ValueError)


def test_missing_extra_error_is_an_import_error_with_the_pip_hint() -> None:
    error = errors.MissingExtraError("aio_pika", "worker")

    assert isinstance(error, ImportError)
    assert isinstance(error, errors.SvckitError)
    assert 'pip install "svckit[worker]"' in str(error)
    assert "aio_pika" in str(error)
    assert error.name == "aio_pika"
    assert (error.module, error.extra) == ("aio_pika", "worker")


def test_missing_extra_error_is_caught_by_except_import_error() -> None:
    with pytest.raises(ImportError, match=r"svckit\[bot\]"):
        raise errors.MissingExtraError("aiogram", "bot")


def test_require_returns_an_installed_module() -> None:
    assert require("json", "api") is sys.modules["json"]


def test_require_names_the_extra_of_a_missing_module() -> None:
    with pytest.raises(errors.MissingExtraError) as caught:
        require("svckit_surely_not_installed", "worker")

    assert 'pip install "svckit[worker]"' in str(caught.value)
    assert isinstance(caught.value.__cause__, ModuleNotFoundError)


def test_require_names_the_extra_of_a_missing_parent_package() -> None:
    with pytest.raises(errors.MissingExtraError, match=r"svckit\[redis\]"):
        require("svckit_surely_not_installed.asyncio", "redis")


def test_require_does_not_blame_the_extra_for_a_broken_installed_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The module is installed but one of *its* imports is missing: that is a different
    # problem, and the install hint would send the user the wrong way.
    (tmp_path / "svckit_broken_adapter.py").write_text("import svckit_missing_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "svckit_broken_adapter", raising=False)

    with pytest.raises(ModuleNotFoundError) as caught:
        require("svckit_broken_adapter", "worker")

    assert not isinstance(caught.value, errors.MissingExtraError)
    assert caught.value.name == "svckit_missing_dependency"
