"""The users API: accounts, tokens and image uploads on `svckit.api.ApiService`.

Run it with ``svckit run examples.users_api.service:UsersApi`` (SQLite by default;
``USERS_DATABASE_URL=postgresql+asyncpg://...`` for PostgreSQL after
``svckit db upgrade examples.users_api.service:UsersApi``). Uploaded images go to the
media worker by reference (``examples.media_worker``).
"""
