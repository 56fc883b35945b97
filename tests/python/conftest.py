"""Shared fixtures: generated landing zones and dbt builds into temporary warehouses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from customer_segments.generate import GenerateConfig, generate
from customer_segments.land import land

PROJECT = Path(__file__).resolve().parents[2]
RETAIL_DIR = PROJECT.parent / "shared" / "data" / "online_retail" / "by-day"
DBT = Path(sys.executable).with_name("dbt")

# the bad-input matrix records each case it tried here: case -> {kind, rows_lost}
MATRIX: dict[str, dict] = {}


def pytest_terminal_summary(terminalreporter):
    if not MATRIX:
        return
    lost = sum(c["rows_lost"] for c in MATRIX.values())
    kinds = {}
    for c in MATRIX.values():
        kinds[c["kind"]] = kinds.get(c["kind"], 0) + 1
    terminalreporter.section("bad-input matrix")
    terminalreporter.write_line(
        f"{len(MATRIX)} bad-input cases tried and passed ("
        + ", ".join(f"{n} {k}-level" for k, n in sorted(kinds.items()))
        + f"); rows lost: {lost}")


@dataclass
class Build:
    root: Path
    landing: Path
    truth: Path
    db: Path
    result: subprocess.CompletedProcess

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        con = duckdb.connect(str(self.db), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    def scalar(self, sql: str, params: list | None = None):
        return self.query(sql, params)[0][0]


def run_dbt(db: Path, work: Path, *args: str, check: bool = True
            ) -> subprocess.CompletedProcess:
    """Run dbt in a subprocess against `db`, with its own target and log folders."""
    env = {**os.environ, "CS_DUCKDB_PATH": str(db), "CS_DUCKDB_TEMP_DIR": str(work / "tmp"),
           "CS_DATA_DOCS_DIR": str(work / "data_docs"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    cmd = [str(DBT), *args, "--target-path", str(work / "target"),
           "--log-path", str(work / "logs"), "--profiles-dir", str(PROJECT),
           "--project-dir", str(PROJECT)]
    proc = subprocess.run(cmd, cwd=PROJECT, env=env, capture_output=True, text=True,
                          timeout=1800)
    if check and proc.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{proc.stdout[-6000:]}\n"
                             f"{proc.stderr[-2000:]}")
    return proc


def build_landing(root: Path, landing: Path, truth: Path | None = None) -> Build:
    db = root / "warehouse.duckdb"
    land(landing, db)
    result = run_dbt(db, root, "build")
    return Build(root, landing, truth or root / "truth", db, result)


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> Build:
    """A small generated landing zone (two chunks), landed and built with dbt."""
    root = tmp_path_factory.mktemp("generated")
    cfg = GenerateConfig(customers=1_200, days=180, seed=7, bad_rate=0.02,
                         duplicate_rate=0.01, chunk_size=700)
    generate(cfg, root / "landing", root / "truth", progress=False)
    return build_landing(root, root / "landing", root / "truth")


@pytest.fixture
def copy_landing(tmp_path):
    def _copy(src: Path) -> Path:
        dst = tmp_path / "landing"
        shutil.copytree(src, dst)
        return dst
    return _copy
