"""Keys cannot leave the file store's directory, whatever text they are made of."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from svckit.storage import FileStorage, InvalidKeyError
from svckit.storage._keys import check_key

ROOT = Path("/srv/content")
STORE = FileStorage(ROOT)

# Text that favours the characters paths are made of, and any other.
path_text = st.text(
    alphabet=st.one_of(st.sampled_from("./\\~-_ab\x00:"), st.characters()), max_size=40
)


@given(path_text)
def test_a_key_is_refused_or_names_a_file_inside_the_root(key: str) -> None:
    try:
        check_key(key)
    except InvalidKeyError:
        return
    path = STORE._path(key)
    resolved = Path(os.path.normpath(path))
    assert resolved == path, "no segment moves up or sideways"
    assert ROOT in resolved.parents
    assert resolved.name.endswith("~")
    assert not any(part.startswith(".") for part in resolved.relative_to(ROOT).parts)


@given(st.lists(st.from_regex(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,20}", fullmatch=True), min_size=1))
def test_every_key_of_safe_segments_is_accepted(segments: list[str]) -> None:
    key = "/".join(segments)
    if len(key) <= 512:
        assert check_key(key) == key


@pytest.mark.timeout(10)  # a regular expression that backtracks would take far longer
@pytest.mark.parametrize(
    "hostile",
    ["a" * 1_000_000, "a/" * 500_000 + "..", "a" * 511 + "\x00", "ab." * 170 + "/" + "~"],
)
def test_the_check_stays_linear_on_long_input(hostile: str) -> None:
    with pytest.raises(InvalidKeyError):
        check_key(hostile)
    with pytest.raises(InvalidKeyError):
        check_key(hostile[:512])
