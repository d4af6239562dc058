"""Thumbnails: a svckit worker that answers every uploaded image with a thumbnail."""
