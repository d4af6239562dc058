"""A RabbitMQ node of a test's own, for tests that stop or restart the broker.

The machine's shared node (``rabbit@localhost`` on 5672) is never stopped by a test. A
test that needs a broker it can take away starts a private node instead, with everything
of its own: node name, AMQP and distribution ports, ``HOME`` (so the Erlang cookie is its
own), an empty ``rabbitmq-env.conf`` (the system one names the shared node), its own
``rabbitmq.conf``, an empty enabled-plugins file, and its own mnesia and log folders. The
node listens on 127.0.0.1 only, and is stopped (and its folders removed) at the end, so
the machine is left as it was found.

::

    async with PrivateNode(tmp_path) as node:
        bus = Bus(node.url, service="svc")
        ...
        await node.stop_app()    # the broker goes away; the node stays
        await node.start_app()   # and comes back on the same port
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Self

import pytest

if TYPE_CHECKING:
    from types import TracebackType

#: Where Debian's package puts the scripts that run as the calling user (the ones on PATH
#: switch to the rabbitmq user, which cannot read a test's folders).
RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")
#: How long a node may take to boot, or a rabbitmqctl command to finish.
BOOT_TIMEOUT = 90.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _script(name: str) -> str:
    path = RABBITMQ_BIN / name
    if not path.exists():
        found = shutil.which(name)
        if found is None:
            pytest.skip(f"{name} is not installed; a private RabbitMQ node cannot be started")
        return found
    return str(path)


class PrivateNode:
    """A RabbitMQ node started for one test, in ``root``, on ports of its own."""

    def __init__(self, root: Path) -> None:
        """Lay out the node's folders under ``root``; `start` boots it."""
        self.port = free_port()
        self.dist_port = free_port()
        self.name = f"svckit-test-{self.port}@localhost"
        self.root = root / f"rabbit-{self.port}"
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        self._process: subprocess.Popen[bytes] | None = None
        home, mnesia, logs = self.root / "home", self.root / "mnesia", self.root / "log"
        for folder in (home, mnesia, logs):
            folder.mkdir(parents=True)
        (self.root / "rabbitmq-env.conf").write_text("")
        (self.root / "enabled_plugins").write_text("[].\n")
        (self.root / "rabbitmq.conf").write_text("loopback_users.guest = true\n")
        self.env = {
            **os.environ,
            "HOME": str(home),
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONF_ENV_FILE": str(self.root / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(mnesia),
            "RABBITMQ_LOG_BASE": str(logs),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "ERL_FLAGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    async def __aenter__(self) -> Self:
        """Boot the node and wait until it serves AMQP."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the node and remove its folders."""
        await self.stop()

    async def start(self) -> None:
        """Boot the node (a child process of the test) and wait for it."""
        log = (self.root / "server.out").open("wb")
        self._process = subprocess.Popen(  # noqa: S603, ASYNC220 - a fixed local script
            [_script("rabbitmq-server")],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        await self._wait_booted()

    async def _wait_booted(self) -> None:
        deadline = time.monotonic() + BOOT_TIMEOUT
        while True:
            if self._process is not None and self._process.poll() is not None:
                output = (self.root / "server.out").read_text(errors="replace")[-1500:]
                pytest.fail(f"the private RabbitMQ node exited while booting: {output}")
            ok, _ = await self._ctl("await_startup", "--timeout", "5", check=False)
            if ok:
                return
            if time.monotonic() > deadline:
                pytest.fail(f"the private RabbitMQ node did not boot within {BOOT_TIMEOUT} s")
            await asyncio.sleep(0.5)

    async def stop_app(self) -> None:
        """Stop the broker inside the node: connections drop, the port closes."""
        await self._ctl("stop_app")

    async def start_app(self) -> None:
        """Start the broker again after `stop_app`, and wait until it serves."""
        await self._ctl("start_app")
        await self._ctl("await_startup")

    async def stop(self) -> None:
        """Stop the node for good and remove its folders."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            await self._ctl("stop", check=False)
            try:
                await asyncio.to_thread(process.wait, BOOT_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await asyncio.to_thread(process.wait)
        shutil.rmtree(self.root, ignore_errors=True)

    async def _ctl(self, *args: str, check: bool = True) -> tuple[bool, str]:
        process = await asyncio.create_subprocess_exec(
            _script("rabbitmqctl"),
            "-n",
            self.name,
            "-q",
            *args,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            async with asyncio.timeout(BOOT_TIMEOUT):
                output, _ = await process.communicate()
        except TimeoutError:
            process.kill()
            await process.wait()
            pytest.fail(f"rabbitmqctl {' '.join(args)} took longer than {BOOT_TIMEOUT} s")
        text = output.decode(errors="replace")
        if check and process.returncode != 0:
            pytest.fail(f"rabbitmqctl {' '.join(args)} failed: {text[-500:]}")
        return process.returncode == 0, text
