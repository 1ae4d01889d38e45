"""Connect to an audit database and bring its schema to head, cheaply when it is there.

Every `commander review` opens the store, and importing Alembic costs more
than the rest of the open, so `ensure_schema` first reads the version row with
one SELECT and imports Alembic only when the schema is behind.

SQLite connections run in WAL mode with a busy timeout, and SQLAlchemy (not the
sqlite3 module) issues BEGIN, IMMEDIATE for connections carrying the WRITE
option, so concurrent writers queue for the lock instead of failing mid-way.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from orchestrator.errors import NoStore, StoreError, UserError
from orchestrator.settings import ENV_DATABASE_URL

if TYPE_CHECKING:
    from alembic.config import Config

# The newest revision in migrations/versions; a test keeps the two in step.
HEAD_REVISION = "0007"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Connection option that makes a SQLite transaction BEGIN IMMEDIATE (see _sqlite_begin).
WRITE: dict[str, Any] = {"commander_write": True}
_BUSY_SECONDS = 30
_CONNECT_TIMEOUT_SECONDS = 10
# pg_advisory_xact_lock key held while migrating: "cmdr" in ASCII.
_PG_MIGRATION_LOCK = 0x636D6472


def database_url(url: str) -> URL:
    """Parse a database URL; plain `postgresql://` means the psycopg 3 driver."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise StoreError(
            f"the audit database URL {redact(url)} does not parse: use sqlite:///PATH "
            "or postgresql://USER@HOST[:PORT]/DB (--db or COMMANDER_DATABASE_URL)"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(f"the audit store supports SQLite and PostgreSQL, not {redact(url)}")
    return parsed


def redact(url: str) -> str:
    """The URL as it may appear in a message: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        # Unparseable: keep only what precedes any credentials. Without `://` there are
        # none to hide, and the text as typed is what tells the user what went wrong.
        return url.split("://", 1)[0] + "://…" if "://" in url else repr(url)


def store_url(given: str) -> str:
    """The store URL for what a user gave: a URL, or a plain path to a SQLite file."""
    if "://" in given:
        return given
    if given.strip() in (":memory:", ""):
        return "sqlite://"  # refused by `connect`, never a file named ":memory:"
    return f"sqlite:///{Path(given).expanduser().resolve()}"


def connect(
    url: str, *, create: bool = True, own_folder: Path | None = None, make_folders: bool = True
) -> Engine:
    """An engine for the audit database at `url`, set up for serialised appends.

    The one place the rule for where a store may come into being is kept:
    in memory, never (nothing would be kept); a SQLite file that is not
    there only when `create` (commands that write), and, unless
    `make_folders` (the library's default), only in a folder that exists or
    in `own_folder` (the default store's, which commander owns and makes).
    Otherwise `NoStore`, with nothing created.
    """
    parsed = database_url(url)
    shown = redact(url)
    try:
        if parsed.get_backend_name() == "postgresql":
            # Pre-ping: a connection the server dropped (a restart, a failover, an idle
            # timeout) is replaced when checked out instead of failing the next request.
            return create_engine(
                parsed,
                connect_args={"connect_timeout": _CONNECT_TIMEOUT_SECONDS},
                pool_pre_ping=True,
            )
        path = _sqlite_file(parsed, shown, create=create, strict=not make_folders, own=own_folder)
        parsed = parsed.set(database=str(path))
        engine = create_engine(parsed, connect_args={"timeout": _BUSY_SECONDS})
    except (ImportError, NoSuchModuleError) as exc:
        raise StoreError(
            f"cannot open the audit store at {shown}: its driver is not installed ({exc}); "
            "PostgreSQL URLs need commander[postgres] (psycopg 3)"
        ) from None
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


# One lock per SQLite file per process: see writers_lock.
_SQLITE_WRITERS: dict[str, threading.RLock] = {}
_SQLITE_WRITERS_GUARD = threading.Lock()


def writers_lock(engine: Engine) -> AbstractContextManager[object]:
    """What a write transaction holds in this process before it begins.

    SQLite lets one writer in at a time, and a writer that finds the file
    locked sleeps and retries (the busy timeout) rather than queueing: under
    load the threads of one service spend their time waking up to find it
    still taken, and whoever asks last may get it first. Taking turns on a
    lock per file in the process first makes them queue, so BEGIN IMMEDIATE
    waits only for other processes. PostgreSQL queues writers itself (the
    chain head's row lock): nothing to hold there.
    """
    if engine.dialect.name != "sqlite":
        return nullcontext()
    key = str(engine.url.database or ":memory:")
    if key not in ("", ":memory:"):
        key = str(Path(key).resolve())
    with _SQLITE_WRITERS_GUARD:
        return _SQLITE_WRITERS.setdefault(key, threading.RLock())


def _sqlite_file(parsed: URL, shown: str, *, create: bool, strict: bool, own: Path | None) -> Path:
    """The SQLite file a URL names, checked against the rule in `connect`."""
    memory = parsed.query.get("mode") == "memory" or parsed.database in (None, "", ":memory:")
    if memory or str(parsed.database).startswith("file::memory:"):
        raise UserError(
            f"the audit store cannot be in memory ({shown}): nothing would be kept; "
            "give a file (sqlite:///PATH, or a path)"
        )
    # sqlite3 takes "~" literally; a user typing it means their home.
    path = Path(str(parsed.database)).expanduser()
    if path.exists():
        return path
    if not create:
        raise NoStore(
            f"no store at {path.resolve()}: check --db or {ENV_DATABASE_URL} "
            "(`commander review` or `commander migrate` creates one)"
        )
    folder = path.resolve().parent
    if not folder.is_dir():
        if strict and (own is None or folder != own.resolve()):
            raise NoStore(
                f"cannot create the audit store {path.resolve()}: folder {folder} does not exist"
            )
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot open the audit store at {shown}: cannot create folder "
                f"{folder}: {exc.strerror}"
            ) from None
    return path


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" hook issue BEGIN, so it can be BEGIN IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {_BUSY_SECONDS * 1000}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    write = conn.get_execution_options().get("commander_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def current_revision(engine: Engine) -> str | None:
    """The schema revision recorded in the database, or None when there is none."""
    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError:
            # No version table yet (or unreadable): the upgrade path finds out which.
            return None


def holds_store(engine: Engine) -> bool:
    """Whether the database holds an audit store (of any revision), not just exists."""
    return inspect(engine).has_table("audit_chain")


def ensure_schema(engine: Engine) -> None:
    """Upgrade the schema to HEAD_REVISION unless it is already there."""
    if current_revision(engine) != HEAD_REVISION:
        upgrade(engine)


def alembic_config() -> Config:
    """Alembic's configuration, built in code so it works from an installed wheel."""
    from alembic.config import Config  # noqa: PLC0415 — only the upgrade path pays for alembic

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine) -> None:
    """Run every pending migration in one transaction, holding the migration lock."""
    from alembic import command  # noqa: PLC0415 — only the upgrade path pays for alembic
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    config = alembic_config()
    known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
    with engine.connect() as conn:
        conn.execution_options(**WRITE)
        with conn.begin():
            _lock(conn)
            found = MigrationContext.configure(conn).get_current_revision()
            if found is not None and found not in known:
                raise StoreError(
                    f"the audit database is at schema revision {found}, which this commander "
                    f"does not know (its newest is {HEAD_REVISION}): upgrade commander"
                )
            config.attributes["connection"] = conn
            command.upgrade(config, "head")


def _lock(conn: Connection) -> None:
    """Serialise migrations: SQLite's BEGIN IMMEDIATE already has; PostgreSQL needs a lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
