"""Alembic environment: runs migrations on the URL the service was given."""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

config = context.config


def run() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if url is None:  # service.store.db.alembic_config sets it: migrations run on the service's database only
        raise RuntimeError("no sqlalchemy.url: run migrations with `compliance-engine db upgrade`")
    connectable = create_engine(url, poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=None, render_as_batch=url.startswith("sqlite"))
        with context.begin_transaction():
            context.run_migrations()


run()
