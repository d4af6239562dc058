"""Tests of svckit.cache."""
