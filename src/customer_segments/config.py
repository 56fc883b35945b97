"""Paths and settings shared by the CLI, the landing step and the tests.

Every setting has an environment variable so a deployment never edits files; the
same variables are read by profiles.yml and dbt_project.yml.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_DB_PATH = "CS_DUCKDB_PATH"
ENV_LANDING_DIR = "CS_LANDING_DIR"
ENV_THREADS = "CS_DUCKDB_THREADS"
ENV_MEMORY_LIMIT = "CS_DUCKDB_MEMORY_LIMIT"
ENV_TEMP_DIR = "CS_DUCKDB_TEMP_DIR"


def duckdb_config() -> dict:
    """The DuckDB settings profiles.yml gives dbt (same variables, same defaults), for
    the project's own heavy connections: landing, export, import, the Spark hand-over.
    Without them DuckDB takes every core and 80% of RAM (7 GB to land 100M events)."""
    return {"threads": int(os.environ.get(ENV_THREADS, "2")),
            "memory_limit": os.environ.get(ENV_MEMORY_LIMIT, "8GB"),
            "temp_directory": os.environ.get(ENV_TEMP_DIR, ".duckdb_tmp")}


def duckdb_connect(db: Path | str | None = None, *, read_only: bool = False):
    """A DuckDB connection (in memory without db) with duckdb_config() applied by SET,
    not as connect() config: DuckDB refuses a second connection to a file with another
    configuration, and the caller (a notebook, a test) may hold one already. The
    settings are the database's, so they then hold for that connection too."""
    import duckdb

    con = duckdb.connect(str(db) if db is not None else ":memory:", read_only=read_only)
    try:
        for name, value in duckdb_config().items():
            con.execute(f"set {name} = '{value}'")
    except BaseException:
        con.close()
        raise
    return con


def project_root() -> Path:
    """The dbt project directory: $CS_PROJECT_DIR, else the nearest dbt_project.yml upwards."""
    env = os.environ.get("CS_PROJECT_DIR")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "dbt_project.yml").exists():
            return candidate
    # Installed package used from elsewhere: fall back to the source checkout.
    return Path(__file__).resolve().parents[2]


def db_path() -> Path:
    return Path(os.environ.get(ENV_DB_PATH, project_root() / "warehouse.duckdb"))


def landing_dir() -> Path:
    return Path(os.environ.get(ENV_LANDING_DIR, project_root() / "data" / "landing"))


ENV_DATA_DOCS_DIR = "CS_DATA_DOCS_DIR"


def data_docs_dir() -> Path:
    """Where the Great Expectations Data Docs (HTML) are written."""
    return Path(os.environ.get(ENV_DATA_DOCS_DIR, project_root() / "target" / "data_docs"))
