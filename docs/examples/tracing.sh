#!/usr/bin/env bash
# The commands of the how-to "Turn tracing on" (docs/how-to/tracing.md).
# tests/docs/test_tracing.py runs the ones marked as run by a test.
set -euo pipefail

# --8<-- [start:install-distro]
pip install opentelemetry-distro opentelemetry-exporter-otlp
# --8<-- [end:install-distro]

# Run by a test.
# --8<-- [start:instrument-console]
OTEL_SERVICE_NAME=thumbs OTEL_TRACES_EXPORTER=console OTEL_METRICS_EXPORTER=none OTEL_LOGS_EXPORTER=none opentelemetry-instrument svckit run thumbs.service:Thumbnails
# --8<-- [end:instrument-console]

# --8<-- [start:instrument-otlp]
OTEL_SERVICE_NAME=thumbs OTEL_EXPORTER_OTLP_ENDPOINT=http://otel-collector:4317 opentelemetry-instrument svckit run thumbs.service:Thumbnails
# --8<-- [end:instrument-otlp]

# --8<-- [start:install-sdk]
pip install opentelemetry-sdk
# --8<-- [end:install-sdk]

# Run by a test, from the folder of tracing_setup.py.
# --8<-- [start:run-setup]
OTEL_SERVICE_NAME=shop svckit run tracing_setup:Shop
# --8<-- [end:run-setup]
