# The commands of the tutorial "Your first worker in a new repository", in order.
# tests/tutorial/ runs the ones that start, feed and inspect the worker.

# --8<-- [start:create]
mkdir thumbs-worker && cd thumbs-worker
python -m venv .venv
source .venv/bin/activate
# --8<-- [end:create]

# --8<-- [start:install]
pip install -e ".[dev]"
# --8<-- [end:install]

# --8<-- [start:test]
pytest
# --8<-- [end:test]

# --8<-- [start:run]
svckit run thumbs.service:Thumbnails
# --8<-- [end:run]

# --8<-- [start:readyz]
curl -s localhost:8081/readyz
# --8<-- [end:readyz]

# --8<-- [start:rabbitmq-docker]
docker run -d --name rabbitmq -p 5672:5672 rabbitmq:4
# --8<-- [end:rabbitmq-docker]

# --8<-- [start:run-rabbitmq]
export THUMBS_BUS_URL=amqp://guest:guest@localhost:5672/
svckit run thumbs.service:Thumbnails
# --8<-- [end:run-rabbitmq]

# --8<-- [start:upload]
export THUMBS_BUS_URL=amqp://guest:guest@localhost:5672/
python -m thumbs.upload photo-1 4000 3000
# --8<-- [end:upload]

# --8<-- [start:reject]
python -m thumbs.upload huge 100000 100000
# --8<-- [end:reject]

# --8<-- [start:dlq]
svckit dlq --url "$THUMBS_BUS_URL" list thumbs.make_thumbnail
# --8<-- [end:dlq]

# --8<-- [start:dotenv]
cp .env.example .env
svckit run thumbs.service:Thumbnails
# --8<-- [end:dotenv]
