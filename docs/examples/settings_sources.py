"""Where settings come from: arguments, the environment, the .env file, the defaults."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from users_settings import UsersSettings

# --8<-- [start:environment]
os.environ["USERS_PAGE_SIZE"] = "50"
os.environ["USERS_BUS_URL"] = "amqp://users:s3cret@rabbit.internal:5672/"

settings = UsersSettings()
assert (settings.page_size, settings.log_level) == (50, "INFO")
assert settings.env_name("page_size") == "USERS_PAGE_SIZE"

# Secrets are SecretStr: printing the settings never shows them.
print(repr(settings.bus_url))
assert "s3cret" not in repr(settings)
assert settings.bus_url.get_secret_value().startswith("amqp://users:s3cret@")
# --8<-- [end:environment]

# --8<-- [start:dotenv]
with tempfile.TemporaryDirectory() as folder:
    dotenv = Path(folder) / ".env"
    dotenv.write_text("USERS_PAGE_SIZE=10\nUSERS_LOG_LEVEL=DEBUG\n", encoding="utf-8")
    # By default the .env file is read from the working directory; this one is elsewhere.
    settings = UsersSettings(_env_file=dotenv)

# log_level comes from .env; page_size from the environment, which wins over .env.
assert (settings.page_size, settings.log_level) == (50, "DEBUG")
# And an argument wins over both.
assert UsersSettings(page_size=5).model_dump(include={"page_size"}) == {"page_size": 5}
# --8<-- [end:dotenv]
