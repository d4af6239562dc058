# The commands of the how-to "Scale out a worker".
# tests/tutorial/ runs the ones that start the worker.

# --8<-- [start:two-processes]
export THUMBS_BUS_URL=amqp://guest:guest@localhost:5672/
export THUMBS_CACHE_URL=redis://localhost:6379/0
THUMBS_HEALTH_PORT=8081 svckit run thumbs.scaled:ScaledThumbnails &
THUMBS_HEALTH_PORT=8082 svckit run thumbs.scaled:ScaledThumbnails &
# --8<-- [end:two-processes]

# --8<-- [start:production-refused]
THUMBS_ENVIRONMENT=production svckit run thumbs.scaled:ScaledThumbnails
# --8<-- [end:production-refused]
