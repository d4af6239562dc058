"""The tracing how-to: both ways it gives turn tracing on under `svckit run`.

Each test runs the documented command line from ``docs/examples/tracing.sh``, with a
second service beside the documented one (`Sender`, on the same embedded broker) that
gives it an order to handle, then stops it with SIGTERM and reads the spans that the
console exporter printed as the process exited.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import os
import re
import shlex
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.docs.test_examples import DEADLINE, example_environment, read_logs_until

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
BIN = Path(sys.executable).parent
SENDER = "tests.docs._tracing_targets:Sender"


def documented(section: str) -> tuple[dict[str, str], list[str]]:
    """The variables and the words of the command in ``section`` of tracing.sh."""
    text = (EXAMPLES / "tracing.sh").read_text(encoding="utf-8")
    match = re.search(
        rf"^# --8<-- \[start:{section}\]\n(.*?)^# --8<-- \[end:{section}\]",
        text,
        re.DOTALL | re.MULTILINE,
    )
    assert match, f"tracing.sh has no section {section!r}"
    [line] = [ln for ln in match.group(1).splitlines() if ln and not ln.startswith("#")]
    words = shlex.split(line)
    variables = {}
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        variables[name] = value
    return variables, words


def spans_in(output: str) -> list[dict[str, Any]]:
    """The JSON objects the console exporter printed, one after another."""
    decoder = json.JSONDecoder()
    found, index = [], 0
    while (start := output.find("{", index)) != -1:
        value, index = decoder.raw_decode(output, start)
        found.append(value)
    return found


async def traced_run(words: list[str], variables: dict[str, str], cwd: Path) -> list[Any]:
    """Run ``words`` until the order is handled, stop it with SIGTERM; the spans."""
    env = example_environment() | variables
    env |= {
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "PYTHONPATH": str(ROOT),  # where the Sender is
        "SVCKIT_LOG_FORMAT": "json",
        "SVCKIT_HEALTH_PORT": "0",
        "RECEIVER_LOG_FORMAT": "json",
        "RECEIVER_HEALTH_PORT": "0",
    }
    program = str(BIN / words[0])
    process = await asyncio.create_subprocess_exec(
        program,
        *words[1:],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=cwd,
        env=env,
    )
    try:
        assert process.stderr is not None
        await read_logs_until(process.stderr, "stock reserved")
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(DEADLINE):
            stdout, stderr = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()
    assert process.returncode == 0, stderr.decode()
    return spans_in(stdout.decode())


def assert_one_trace(spans: list[dict[str, Any]]) -> None:
    by_name = {span["name"]: span for span in spans if "name" in span}
    publish = by_name["orders.placed publish"]
    [process] = [span for name, span in by_name.items() if name.endswith(".reserve_stock process")]
    assert process["context"]["trace_id"] == publish["context"]["trace_id"]
    assert process["parent_id"] == publish["context"]["span_id"]


async def test_opentelemetry_instrument_in_front_of_svckit_run() -> None:
    variables, words = documented("instrument-console")
    assert words[:3] == ["opentelemetry-instrument", "svckit", "run"]
    # The documented worker is the tutorial's; a service without tracing code stands in.
    words[3:] = ["tests.docs._tracing_targets:Receiver", SENDER]
    spans = await traced_run(words, variables, ROOT)

    assert_one_trace(spans)
    assert {span["resource"]["attributes"]["service.name"] for span in spans} == {"thumbs"}


async def test_the_sdk_set_up_on_import_of_the_service_module() -> None:
    variables, words = documented("run-setup")
    assert words == ["svckit", "run", "tracing_setup:Shop"]
    spans = await traced_run([*words, SENDER], variables, EXAMPLES)

    assert_one_trace(spans)
    assert {span["resource"]["attributes"]["service.name"] for span in spans} == {"shop"}


@pytest.mark.parametrize("section", ["install-distro", "install-sdk"])
def test_the_installs_name_the_packages_the_tests_use(section: str) -> None:
    _, words = documented(section)
    assert words[:2] == ["pip", "install"]
    # The OTLP exporter is for production; the tests export to the console.
    for name in set(words[2:]) - {"opentelemetry-exporter-otlp"}:
        assert importlib.metadata.version(name)
