"""Where one SQL model spends its CPU: build it once more, as a full refresh, into a
scratch table of a built warehouse with DuckDB's profiler on, and print the operators
that took the time.

    make profile MODEL=int_customer_activity_daily DB=benchmarks/data/100M/run/warehouse.duckdb

The model's SQL is compiled by dbt (`dbt compile --full-refresh`: the SQL a first build
runs) against the warehouse, then run as `create table _cs_profile.<model> as ...`
with the benchmark's DuckDB settings (threads, memory_limit, a temp directory for
spilling) and dropped. Nothing else in the warehouse changes. Operator times are CPU
seconds summed over threads (DuckDB's profiler), so they add up to more than the wall
time on several cores; the write into the table is the CREATE_TABLE_AS operator.
Nothing may hold the warehouse open meanwhile (a running dbt build, a BI tool).

`--json OUT` keeps DuckDB's whole profile (every operator, its rows, extra info).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def compile_model(model: str, db: Path, target: Path, env: dict, full_refresh: bool) -> str:
    """The SQL of `model` as dbt compiles it for `db` (its select, without the DDL)."""
    cmd = [str(BIN / "dbt"), "compile", "--select", model, "--target-path", str(target),
           "--log-path", str(target / "logs"), "--profiles-dir", str(PROJECT),
           "--project-dir", str(PROJECT), "--quiet"]
    if full_refresh:
        cmd.append("--full-refresh")
    proc = subprocess.run(cmd, cwd=PROJECT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"dbt compile failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    found = list((target / "compiled").rglob(f"{model}.sql"))
    if len(found) != 1:
        raise SystemExit(f"no single compiled SQL model named {model} (found {len(found)}; "
                         "Python models cannot be profiled this way)")
    return found[0].read_text()


def operators(profile: dict) -> list[dict]:
    """The profile's operators, depth first: type, depth, CPU seconds, rows out, and a
    few identifying details (table, CTE, groups, join condition)."""
    keep = ("Table", "Function", "CTE Name", "Groups", "Aggregates", "Join Type",
            "Conditions")
    out: list[dict] = []

    def walk(node: dict, depth: int) -> None:
        extra = node.get("extra_info") or {}
        detail = "; ".join(f"{k}: {extra[k]}" for k in keep if k in extra)
        out.append({"type": node["type"], "depth": depth,
                    "seconds": float(node.get("timing", 0.0)),
                    "rows": int(node.get("intermediate_rows", 0)), "detail": detail})
        for child in node.get("children", []):
            walk(child, depth + 1)

    for root in profile.get("operator", []):  # DuckDB 2.0's JSON profile
        walk(root, 0)
    return out


def summary(profile: dict, wall: float, min_share: float = 0.01) -> str:
    """A plain-text report: wall time, CPU per operator (those with at least min_share
    of the total, in plan order, indented by depth) and the I/O DuckDB counted."""
    ops = operators(profile)
    total = sum(o["seconds"] for o in ops) or 1e-9
    lines = [f"wall {wall:.1f} s, operator CPU {total:.1f} s"]
    io = profile.get("io") or {}
    system = profile.get("system") or {}
    if io or system:
        lines.append(
            f"read {io.get('total_bytes_read', 0) / 2**30:.1f} GiB, written "
            f"{io.get('total_bytes_written', 0) / 2**30:.1f} GiB, peak spill "
            f"{(system.get('peak_temp_dir_size') or 0) / 2**30:.1f} GiB")
    lines.append(f"{'cpu s':>8} {'share':>6} {'rows':>12}  operator")
    for o in ops:
        if o["seconds"] / total < min_share:
            continue
        detail = f"  [{o['detail'][:110]}]" if o["detail"] else ""
        lines.append(f"{o['seconds']:8.1f} {o['seconds'] / total:6.1%} {o['rows']:12,d}  "
                     f"{'  ' * o['depth']}{o['type']}{detail}")
    return "\n".join(lines)


def profile_sql(sql: str, db: Path, name: str, settings: dict, temp_dir: Path,
                json_out: Path) -> tuple[float, int]:
    """Run `create table _cs_profile.<name> as <sql>` with the profiler on, drop it; the
    wall seconds and the row count."""
    import duckdb

    con = duckdb.connect(str(db), config={"temp_directory": str(temp_dir)})
    try:
        for key, value in settings.items():
            con.execute(f"set {key} = '{value}'")
        con.execute("create schema if not exists _cs_profile")
        table = f"_cs_profile.{name}"
        con.execute(f"drop table if exists {table}")
        con.execute("pragma enable_profiling = 'json'")
        con.execute(f"pragma profiling_output = '{json_out}'")
        started = time.perf_counter()
        con.execute(f"create table {table} as {sql}")
        wall = time.perf_counter() - started
        con.execute("pragma disable_profiling")
        rows = con.execute(f"select count(*) from {table}").fetchone()[0]
        con.execute(f"drop table {table}")
        con.execute("drop schema if exists _cs_profile")
        return wall, rows
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="a SQL model's name")
    p.add_argument("--db", required=True, type=Path, help="a built warehouse (.duckdb)")
    p.add_argument("--threads", type=int, default=int(os.environ.get("CS_DUCKDB_THREADS", 2)))
    p.add_argument("--memory-limit", default=os.environ.get("CS_DUCKDB_MEMORY_LIMIT", "5GB"))
    p.add_argument("--temp-dir", type=Path, default=None,
                   help="where DuckDB spills (default: a 'spill' folder beside the warehouse)")
    p.add_argument("--incremental", action="store_true",
                   help="the SQL of an incremental run instead of a full refresh")
    p.add_argument("--json", type=Path, default=None, help="keep DuckDB's whole profile here")
    p.add_argument("--min-share", type=float, default=0.01,
                   help="list operators with at least this share of the CPU")
    args = p.parse_args(argv)
    db = args.db.resolve()
    if not db.exists():
        raise SystemExit(f"no warehouse at {db}")
    temp_dir = (args.temp_dir or db.parent / "spill").resolve()
    env = {**os.environ, "CS_TARGET": "duckdb", "CS_DUCKDB_PATH": str(db),
           "CS_DUCKDB_TEMP_DIR": str(temp_dir), "CS_DUCKDB_THREADS": str(args.threads),
           "CS_DUCKDB_MEMORY_LIMIT": args.memory_limit, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    with tempfile.TemporaryDirectory(prefix="cs-profile-") as tmp:
        sql = compile_model(args.model, db, Path(tmp), env, not args.incremental)
        json_out = args.json or Path(tmp) / "profile.json"
        settings = {"threads": args.threads, "memory_limit": args.memory_limit,
                    "preserve_insertion_order": "false", "TimeZone": "UTC"}
        wall, rows = profile_sql(sql, db, args.model, settings, temp_dir, json_out.resolve())
        profile = json.loads(Path(json_out).read_text())
    print(f"{args.model}: {rows:,d} rows")
    print(summary(profile, wall, args.min_share))
    return 0


if __name__ == "__main__":
    sys.exit(main())
