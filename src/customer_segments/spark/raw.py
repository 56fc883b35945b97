"""Hand the raw layer to Spark: the landing step (`cseg land`) keeps validating and
bookkeeping files in its embedded database; its raw.* tables are written as Parquet
and registered as Spark tables of the same names, which the dbt sources read. On a
cluster an EL tool fills raw.* instead and this step is not needed."""

from __future__ import annotations

import shutil
from pathlib import Path

from ..config import duckdb_connect

RAW_SCHEMA = "raw"


def export_raw(db: Path, out_dir: Path) -> dict[str, Path]:
    """Write every raw.* table of the landing database to out_dir/raw_<table>.parquet
    (Spark skips files whose names start with _ or ., as _landed_files does)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb_connect(db, read_only=True)
    try:
        tables = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ? "
            # raw.<source> is a view over its rows table and Parquet copies: not both
            "and not (table_name like '\\_%\\_rows' escape '\\') "
            "order by 1", [RAW_SCHEMA]).fetchall()]
        if not tables:
            raise RuntimeError(f"{db} has no {RAW_SCHEMA}.* tables: run `cseg land` first")
        paths = {}
        for t in tables:
            path = out_dir / f"raw_{t}.parquet"
            if path.exists():
                shutil.rmtree(path) if path.is_dir() else path.unlink()
            con.execute(f"copy {RAW_SCHEMA}.\"{t}\" to '{path}' (format parquet, "
                        "row_group_size 1000000)")
            paths[t] = path
        return paths
    finally:
        con.close()


def register_raw(spark, paths: dict[str, Path]) -> None:
    """Make raw.<table> a Spark table over each Parquet file (replacing any before).
    The data is copied into the warehouse so the landing export can be rewritten."""
    spark.sql(f"create schema if not exists {RAW_SCHEMA}")
    for table, path in paths.items():
        df = spark.read.parquet(str(path.resolve()))
        df.write.mode("overwrite").format("parquet").saveAsTable(f"{RAW_SCHEMA}.{table}")


def land_to_spark(db: Path, out_dir: Path, spark=None) -> dict[str, int]:
    """export_raw + register_raw; returns the row count of each raw table in Spark."""
    from .session import get_session

    paths = export_raw(db, out_dir)
    spark = spark or get_session()
    register_raw(spark, paths)
    return {t: spark.table(f"{RAW_SCHEMA}.{t}").count() for t in paths}
