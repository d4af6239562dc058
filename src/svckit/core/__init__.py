"""The chassis every kind stands on: settings, lifecycle, retry, logs, traces, health.

Import public names from `svckit` itself; this package's modules are the implementation.
"""
