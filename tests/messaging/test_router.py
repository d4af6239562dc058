"""Consumer routers: names (hence queue names) through prefixes and includes."""

from __future__ import annotations

from svckit.messaging import Bus
from svckit.messaging.router import ConsumerRouter


def _names(router: ConsumerRouter) -> list[str | None]:
    return [spec.name for _, spec in router.specs()]


def _routers() -> tuple[ConsumerRouter, ConsumerRouter, ConsumerRouter]:
    mail = ConsumerRouter(prefix="mail.")

    @mail.consumer("user.created")
    async def send(body: bytes) -> None:
        del body

    plain = ConsumerRouter()

    @plain.consumer("user.deleted", name="forget")
    async def forget_user(body: bytes) -> None:
        del body

    notify = ConsumerRouter(prefix="notify.")

    @notify.consumer("user.*")
    async def audit(body: bytes) -> None:
        del body

    return mail, plain, notify


def test_an_included_router_keeps_its_prefix() -> None:
    mail, plain, notify = _routers()
    notify.include(mail)
    notify.include(plain)
    assert _names(mail) == ["mail.send"]  # including does not change the included router
    assert _names(notify) == ["notify.audit", "notify.mail.send", "notify.forget"]


def test_prefixes_nest_through_several_levels() -> None:
    mail, _, notify = _routers()
    notify.include(mail)
    top = ConsumerRouter(prefix="app.")
    top.include(notify)
    outer = ConsumerRouter()  # no prefix of its own: the names are those of ``top``
    outer.include(top)
    assert _names(top) == ["app.notify.audit", "app.notify.mail.send"]
    assert _names(outer) == _names(top)
    assert len(outer.handlers) == 2


def test_the_queue_is_the_same_included_directly_or_through_a_router() -> None:
    mail, _, _ = _routers()
    direct = Bus("memory://router-direct", service="svc")
    for handler, spec in mail.specs():
        direct.add_consumer(handler, spec)
    group = ConsumerRouter()
    group.include(mail)
    through = Bus("memory://router-through", service="svc")
    for handler, spec in group.specs():
        through.add_consumer(handler, spec)
    assert [c.name for c in direct.consumers] == ["svc.mail.send"]
    assert [c.name for c in through.consumers] == ["svc.mail.send"]
