"""The grading queue's tables in the gradebook's PostgreSQL database: procrastinate's schema, and the course's own
four tables beside it. ``course queue-setup`` creates them once per database, after ``course release`` created the
gradebook there; every other queue command checks that they are there and, when not, says which command to run.

JSON payloads are stored as text, not jsonb: a check's expected values may hold NaN, which jsonb refuses.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

from ..nbgrader_runner import CourseError, database_url

STATES = ("waiting", "running", "graded", "ungradable")
COURSE_TABLES = ("course_queue_blob", "course_queue_settings", "course_queue_run", "course_queue_job")

DDL = f"""
CREATE TABLE IF NOT EXISTS course_queue_blob (
    digest text PRIMARY KEY,  -- sha256 of data: a submitted notebook or answers file, stored once
    data bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS course_queue_settings (
    id text PRIMARY KEY,  -- fingerprint.settings_id
    course_id text NOT NULL,
    lesson text NOT NULL,
    release text NOT NULL,  -- the release fingerprint a worker must have to grade these jobs
    checks text NOT NULL,  -- JSON: the run's checks, inputs and expected results, computed once
    limits text NOT NULL,  -- JSON: the time and output limits of local grading
    job_seconds double precision NOT NULL  -- past this, a worker stops the grading process
);
CREATE TABLE IF NOT EXISTS course_queue_run (
    id serial PRIMARY KEY,
    course_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS course_queue_job (
    key text PRIMARY KEY,  -- fingerprint.job_key
    settings text NOT NULL REFERENCES course_queue_settings (id),
    run integer NOT NULL REFERENCES course_queue_run (id),  -- the latest run that asked for it
    course_id text NOT NULL,
    lesson text NOT NULL,
    student text NOT NULL,
    files text NOT NULL,  -- JSON: the submission as read, files by digest
    state text NOT NULL DEFAULT 'waiting' CHECK (state IN {STATES}),
    starts integer NOT NULL DEFAULT 0,  -- how often a worker began grading it
    worker text,
    started_at timestamptz,
    finished_at timestamptz,
    seconds double precision,
    reason text,  -- why it is ungradable, or what stopped its last attempt
    result text  -- JSON: the graded notebooks and notes, once graded
);
CREATE INDEX IF NOT EXISTS course_queue_job_run ON course_queue_job (run, state);
"""


def engine(url: str) -> Engine:
    """An engine on the gradebook database that survives a database restart (connections are checked before
    use); CourseError unless it is PostgreSQL and reachable."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    url = database_url(url)
    if make_url(url).get_backend_name() != "postgresql":
        raise CourseError(
            "The grading queue needs a PostgreSQL gradebook that every grading machine can reach: pass "
            "--db-url postgresql://user@host/gradebook (and release into it with the same --db-url)."
        )
    return create_engine(url, pool_pre_ping=True, pool_size=1, max_overflow=2)


def conninfo(db: Engine) -> str:
    """The libpq connection string of ``db`` (what procrastinate's psycopg connector takes)."""
    return db.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _missing(db: Engine) -> list[str]:
    with db.connect() as connection:
        found = connection.execute(
            text("SELECT name FROM unnest(CAST(:names AS text[])) AS name WHERE to_regclass(name) IS NULL"),
            {"names": ["procrastinate_jobs", *COURSE_TABLES]},
        )
        return [row.name for row in found]


def require(db: Engine) -> None:
    """CourseError naming ``course queue-setup`` when the database has no grading queue yet."""
    if _missing(db):
        shown = db.url.render_as_string(hide_password=True)
        raise CourseError(
            f"The database at {shown} has no grading queue yet: run `course queue-setup --db-url {shown}` once "
            "(it creates the queue's tables)."
        )


def setup(db: Engine) -> list[str]:
    """Create what is missing: procrastinate's schema, then the course's tables, beside a gradebook that
    ``course release`` created. Returns what was created."""
    from procrastinate import App, PsycopgConnector

    with db.connect() as connection:
        gradebook = connection.execute(text("SELECT to_regclass('assignment') IS NOT NULL")).scalar()
    if not gradebook:
        shown = db.url.render_as_string(hide_password=True)
        raise CourseError(
            f"The database at {shown} has no gradebook yet: run `course release --db-url {shown}` first, then "
            "`course queue-setup` again."
        )
    missing = _missing(db)
    created = []
    if "procrastinate_jobs" in missing:
        app = App(connector=PsycopgConnector(conninfo=conninfo(db), min_size=1, max_size=1))
        with app.open():
            app.schema_manager.apply_schema()
        created.append("procrastinate's schema")
    if set(COURSE_TABLES) & set(missing):
        with db.begin() as connection:
            connection.exec_driver_sql(DDL)
        created += [name for name in COURSE_TABLES if name in missing]
    return created
