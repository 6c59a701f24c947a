"""The database: one SQLAlchemy engine per process, migrated by Alembic."""
from __future__ import annotations

import fcntl
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Insert, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session, SQLModel, create_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

#: The largest row id a table's integer key holds on PostgreSQL (INTEGER): the bound of every id-based cursor.
MAX_ROW_ID = 2**31 - 1


def normalise_url(url: str) -> str:
    """postgresql:// means psycopg 3 here (the driver we install)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")  # pragma: no cover - exercised by every SQLite test
        def _pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # several worker processes read while one writes
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)

    @event.listens_for(engine, "connect")
    def _utc(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # The tables hold UTC times in `timestamp without time zone` columns (as SQLite holds them).
        # PostgreSQL converts an aware datetime to the *session* time zone when it stores one there,
        # so a server or role whose TimeZone is, say, Asia/Shanghai would shift every time by 8 hours.
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True  # a SET inside a transaction would be undone by its rollback
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SET TIME ZONE 'UTC'")
        finally:
            cursor.close()
        dbapi_connection.autocommit = autocommit

    return engine


def insert_skipping_duplicates(dialect: str, table: type[SQLModel]) -> Insert:
    """An insert into `table` that skips rows whose key is there already (each database spells it its own way)."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise RuntimeError(f"no insert skipping duplicates on a {dialect} database")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


MIGRATION_LOCK = 734_211_001  # PostgreSQL advisory lock key: one migrating process at a time


def migrate(url: str) -> None:
    """Bring the schema to the newest migration; processes starting together take turns."""
    url = normalise_url(url)
    if url.startswith("postgresql"):
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
                try:
                    command.upgrade(alembic_config(url), "head")
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
        finally:
            engine.dispose()
        return
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        lock_path = Path(url.removeprefix("sqlite:///") + ".migrate.lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                command.upgrade(alembic_config(url), "head")
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return
    command.upgrade(alembic_config(url), "head")


def revisions(url: str) -> tuple[str | None, str | None]:
    """(the database's current migration, the newest migration this code has)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision(), head
    finally:
        engine.dispose()


class Database:
    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url)

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        migrate(self.url)

    def dispose(self) -> None:
        self.engine.dispose()
