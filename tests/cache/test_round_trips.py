"""Property tests: whatever goes in comes back equal, on both backends."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from svckit.cache import Cache


class Colour(StrEnum):
    RED = "red"
    GREEN = "green"


class Item(BaseModel):
    sku: str
    quantity: int
    price: Decimal


class Order(BaseModel):
    # A model writes infinities as null unless told otherwise, and null is no float.
    model_config = ConfigDict(ser_json_inf_nan="constants")

    id: UUID
    placed_at: datetime
    colour: Colour
    items: list[Item]
    notes: dict[str, str] = {}
    coupon: str | None = None
    ratio: float = 1.0


finite_decimals = st.decimals(allow_nan=False, allow_infinity=False, places=4)
floats = st.floats(allow_nan=False)  # NaN is never equal to itself; infinities round-trip
items = st.builds(Item, sku=st.text(), quantity=st.integers(), price=finite_decimals)
orders = st.builds(
    Order,
    id=st.uuids(),
    placed_at=st.datetimes(timezones=st.just(UTC)),
    colour=st.sampled_from(Colour),
    items=st.lists(items, max_size=5),
    notes=st.dictionaries(st.text(), st.text(), max_size=5),
    coupon=st.none() | st.text(),
    ratio=floats,
)

# (type, value) pairs: the type the value is read back as.
cases: st.SearchStrategy[tuple[Any, Any]] = st.one_of(
    st.tuples(st.just(bytes), st.binary(max_size=4096)),
    st.tuples(st.just(str), st.text()),
    st.tuples(st.just(int), st.integers()),
    st.tuples(st.just(float), floats),
    st.tuples(st.just(bool), st.booleans()),
    st.tuples(st.just(Decimal), finite_decimals),
    st.tuples(st.just(date), st.dates()),
    st.tuples(st.just(timedelta), st.timedeltas()),
    st.tuples(st.just(list[int]), st.lists(st.integers())),
    st.tuples(st.just(set[str]), st.sets(st.text(), max_size=10)),
    st.tuples(st.just(tuple[int, str]), st.tuples(st.integers(), st.text())),
    st.tuples(st.just(dict[str, list[float]]), st.dictionaries(st.text(), st.lists(floats))),
    st.tuples(st.just(Order), orders),
    st.tuples(st.just(list[Order]), st.lists(orders, max_size=3)),
)

keys = itertools.count()


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases)
async def test_a_value_comes_back_equal(cache: Cache, case: tuple[Any, Any]) -> None:
    type_, value = case
    key = f"value:{next(keys)}"
    await cache.set(key, value)
    assert await cache.get(key, type_) == value


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(order=orders)
async def test_a_loaded_value_comes_back_equal(cache: Cache, order: Order) -> None:
    key = f"order:{next(keys)}"

    async def load() -> Order:
        return order

    assert await cache.get_or_set(key, Order, load) == order
    assert await cache.get(key, Order) == order
