"""The public surface of svckit.http and the library it loads."""

from __future__ import annotations

import json

from tests._processes import run_python


def test_without_the_library_the_import_says_how_to_install_it() -> None:
    result = run_python("""
        import sys
        sys.modules["httpx2"] = None  # as if httpx2 were not installed
        from svckit import MissingExtraError
        try:
            import svckit.http
        except MissingExtraError as exc:
            print(exc)
    """)
    assert 'pip install "svckit[worker]"' in result.stdout, result.stderr


def test_the_import_loads_httpx2_and_no_kind_library() -> None:
    result = run_python("""
        import json, sys
        import svckit.http
        print(json.dumps(sorted({name.partition(".")[0] for name in sys.modules})))
    """)
    loaded = set(json.loads(result.stdout))
    assert "httpx2" in loaded
    assert loaded.isdisjoint({"httpx", "fastapi", "starlette", "aiogram", "aio_pika", "redis"})
