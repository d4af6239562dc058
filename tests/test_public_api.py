"""The public names: pinned, so that adding or removing one is a visible change."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect

import pytest

import svckit

SVCKIT = [
    "__version__",
    "CacheError",
    "CheckResult",
    "ConfigurationError",
    "ContentTooLargeError",
    "DecodeError",
    "DrainReport",
    "Environment",
    "HandlerCancelledError",
    "Health",
    "HealthReport",
    "HealthStatus",
    "InFlight",
    "Intake",
    "InvalidKeyError",
    "LifecycleError",
    "MessagingError",
    "MissingExtraError",
    "PublishError",
    "Resource",
    "RetryPolicy",
    "Service",
    "ServiceSettings",
    "ServiceState",
    "StorageError",
    "SvckitError",
    "UnroutableError",
    "bind_context",
    "configure_logging",
    "extract_context",
    "get_logger",
    "get_meter",
    "get_tracer",
    "inject_context",
    "start_span",
]

# Every subpackage's public names.
PINNED = {
    "svckit.cache": [
        "Cache",
        "CacheBackend",
        "CachedFunction",
        "MemoryBackend",
        "RedisBackend",
        "cached",
    ],
    "svckit.http": [
        "HttpClient",
        "HttpError",
        "HttpStatusError",
        "HttpTimeout",
        "HttpTransportError",
        "RequestOptions",
    ],
    "svckit.messaging": [
        "DEFAULT_EXCHANGE",
        "Bus",
        "Command",
        "ConsumerRouter",
        "ConsumerSpec",
        "Delivery",
        "Event",
        "Headers",
        "IdempotencyStore",
        "Incoming",
        "KeyValueInbox",
        "MemoryBroker",
        "MemoryInbox",
        "MemoryTransport",
        "Message",
        "Outgoing",
        "QueueSpec",
        "QueueType",
        "Reject",
        "RetryLater",
        "Transport",
        "consumer",
        "topic_matches",
        "transport_for_url",
    ],
    "svckit.storage": [
        "DEFAULT_MAX_SIZE",
        "MAX_KEY_LENGTH",
        "ContentStore",
        "ContentTooLargeError",
        "FileStorage",
        "InvalidKeyError",
        "MemoryStorage",
        "RedisStorage",
        "StorageBackend",
        "StorageError",
        "forget_memory_storage",
        "memory_storage_for",
    ],
    "svckit.testing": ["HarnessFactory", "ServiceHarness"],
    "svckit.worker": ["ConsumerRouter", "WorkerService", "WorkerSettings", "consumer"],
}

# Every package with a public surface of its own is held to the same rules as the top
# level (add the api and bot kinds here when they are written).
SUBPACKAGES = [
    "svckit.cache",
    "svckit.http",
    "svckit.messaging",
    "svckit.storage",
    "svckit.testing",
    "svckit.worker",
]


def test_top_level_names_are_pinned() -> None:
    assert svckit.__all__ == SVCKIT


def test_top_level_names_are_sorted_after_the_version() -> None:
    assert svckit.__all__[0] == "__version__"
    names = svckit.__all__[1:]
    classes = [name for name in names if name[0].isupper()]
    functions = [name for name in names if name[0].islower()]
    assert names == sorted(classes) + sorted(functions)


@pytest.mark.parametrize("name", SVCKIT)
def test_every_top_level_name_resolves(name: str) -> None:
    assert getattr(svckit, name) is not None


@pytest.mark.parametrize("name", [name for name in SVCKIT if name != "__version__"])
def test_every_top_level_name_is_documented(name: str) -> None:
    assert inspect.getdoc(getattr(svckit, name))


def test_top_level_names_are_listed_by_dir() -> None:
    assert set(SVCKIT) <= set(dir(svckit))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Servce'"):
        _ = svckit.Servce


def test_from_import_of_a_lazy_name_works() -> None:
    from svckit import RetryPolicy  # noqa: PLC0415 - the import statement is what is tested
    from svckit.core.retry import RetryPolicy as Defined  # noqa: PLC0415

    assert RetryPolicy is Defined


def test_version_matches_the_installed_distribution() -> None:
    assert svckit.__version__ == importlib.metadata.version("svckit")


def _public(module_name: str) -> list[tuple[str, object]]:
    module = importlib.import_module(module_name)
    names: list[str] = module.__all__
    assert len(names) == len(set(names)), "a name is listed twice"
    return [(name, getattr(module, name)) for name in names]


@pytest.mark.parametrize("module_name", sorted(PINNED))
def test_subpackage_names_are_pinned(module_name: str) -> None:
    assert [name for name, _ in _public(module_name)] == PINNED[module_name]


@pytest.mark.parametrize("module_name", SUBPACKAGES)
def test_subpackage_names_resolve(module_name: str) -> None:
    for name, value in _public(module_name):
        assert value is not None, name


@pytest.mark.parametrize("module_name", SUBPACKAGES)
def test_subpackage_classes_and_functions_are_documented(module_name: str) -> None:
    undocumented = [
        name
        for name, value in _public(module_name)
        if (inspect.isclass(value) or inspect.isfunction(value)) and not inspect.getdoc(value)
    ]
    assert undocumented == []
