"""The benchmark: on the same generated data, per size,
- the bare DuckDB per-user feature aggregation over the landing files (the engine's
  limit for this work) and the same feature set in pandas, checked to agree;
- the project: `cseg land` + full `dbt build` (all models, Python models and tests);
- an incremental run after appending one day of events (land + `dbt build`).
Every step runs in its own process; its wall time and peak RSS (wait4, see measure.py) are
recorded with rows/s and the ratios, into benchmarks/results/bench-<time>.json and a
Markdown table in benchmarks/results/latest.md.

    python benchmarks/bench.py --sizes 1M,10M       (make bench SIZES=1M,10M)

A size is the number of web events; customers = events / 36 over 365 days (the
generator's personas average ~36 web events per customer a year).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
BIN = Path(sys.executable).parent
EVENTS_PER_CUSTOMER = 36
DAYS = 365


def parse_size(text: str) -> int:
    text = text.strip().upper()
    scale = {"K": 10**3, "M": 10**6, "B": 10**9}.get(text[-1], 1)
    return int(float(text.rstrip("KMB")) * scale)


class StepFailed(Exception):
    """A benchmark step exited non-zero; the steps measured before it are kept."""


def run_step(name: str, cmd: list[str], env: dict | None = None, log: Path | None = None
             ) -> dict:
    """Run cmd in a child process; wall seconds, the child's peak RSS (MB), its CPU
    seconds (user + system; `cpu_busy`: their share of wall time x cores, 1.0 when every
    core was busy the whole step) and the MB it read from and wrote to disk (not counting
    what the page cache served)."""
    start = time.perf_counter()
    out = open(log, "a") if log else subprocess.DEVNULL  # noqa: SIM115
    # measured through measure.py: started from here, the step's ru_maxrss would
    # include this process's own high-water mark (Linux keeps it across exec)
    with tempfile.TemporaryDirectory() as tmp:
        usage_file = Path(tmp) / "usage.json"
        try:
            proc = subprocess.run(
                [sys.executable, str(HERE / "measure.py"), str(usage_file), *cmd],
                env={**os.environ, **(env or {})}, cwd=PROJECT, stdout=out,
                stderr=subprocess.STDOUT, check=False)
        finally:
            if log:
                out.close()
        seconds = time.perf_counter() - start
        if not usage_file.exists():
            raise StepFailed(f"{name}: the measuring process failed (rc={proc.returncode})")
        usage = json.loads(usage_file.read_text())
    code, peak_mb = usage["exit_code"], usage["peak_rss_kb"] / 1024
    result = {"step": name, "seconds": round(seconds, 2),
              "peak_rss_mb": round(peak_mb, 1), "exit_code": code,
              "disk_read_mb": round(usage.get("disk_read_bytes", 0) / 2**20, 1),
              "disk_written_mb": round(usage.get("disk_written_bytes", 0) / 2**20, 1)}
    cpu = usage.get("cpu_user_seconds", 0) + usage.get("cpu_system_seconds", 0)
    result["cpu_seconds"] = round(cpu, 1)
    result["cpu_busy"] = round(cpu / (seconds * (os.cpu_count() or 1)), 2) if seconds else None
    print(f"  {name:<22} {seconds:8.1f} s  {peak_mb:8.0f} MB  rc={code}  cpu {cpu:.0f} s "
          f"({result['cpu_busy']:.0%} of the cores)  disk read "
          f"{result['disk_read_mb']:.0f} MB, written {result['disk_written_mb']:.0f} MB",
          flush=True)
    if code != 0:
        tail = log.read_text()[-3000:] if log else ""
        errors = [line.strip() for line in tail.splitlines() if "Error" in line][-3:]
        raise StepFailed(f"{name} failed (rc={code}) after {seconds:.0f} s, peak "
                         f"{peak_mb:.0f} MB: {' | '.join(errors)[:600]} (log: {log})")
    return result


def generate(size: int, data: Path, seed: int, log: Path) -> dict:
    landing = data / "landing"
    stamp = data / "generated.json"
    customers = max(1_000, size // EVENTS_PER_CUSTOMER)
    want = {"events": size, "customers": customers, "days": DAYS, "seed": seed}
    if stamp.exists() and json.loads(stamp.read_text()) == want:
        return {"step": "generate", "reused": True}
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    result = run_step("generate", [str(BIN / "cseg"), "generate", "--customers",
                                   str(customers), "--days", str(DAYS), "--seed", str(seed),
                                   "--out", str(landing), "--truth-dir", str(data / "truth"),
                                   "--quiet"], log=log)
    stamp.write_text(json.dumps(want))
    return result


def append_day(landing: Path, out: Path) -> int:
    """One more day of web events: the newest day's events again, a day later, with new
    ids (what a 15-minute or daily feed appends)."""
    import duckdb

    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    src = str(landing / "events" / "*.parquet")
    con.execute(f"""
        create table day as
        with typed as (
            select *, cast(timezone('UTC', try_cast(event_at as timestamptz)) as date) as d,
                   try_cast(event_at as timestamptz) as ts
            from read_parquet('{src}', union_by_name = true)
        ),
        -- the newest real day: planted bad timestamps (years ahead) are a handful of
        -- rows a day over many days, so compare with the busiest day, not the median
        daily as (select d, count(*) as n from typed where d is not null group by d),
        newest as (
            select max(d) as d from daily
            where n >= 0.2 * (select max(n) from daily)
        )
        select event_id || '-next' as event_id, customer_id, anonymous_id, event_type,
               strftime(timezone('UTC', ts + interval 1 day), '%Y-%m-%dT%H:%M:%SZ')
                   as event_at,
               product_id, category, session_id || '-next' as session_id
        from typed
        where d = (select d from newest)""")
    con.execute(f"copy day to '{out}' (format parquet)")
    return con.execute("select count(*) from day").fetchone()[0]


def bench_size(size: int, args, record: dict) -> None:
    """Run every step for one size into `record` (steps as they finish, then the
    summary), so a failed step leaves the measurements before it."""
    label = record["label"]
    data = Path(args.data_dir) / label
    print(f"[{label}] events {size:,}", flush=True)
    data.mkdir(parents=True, exist_ok=True)
    steps = record["steps"]
    steps["generate"] = generate(size, data, args.seed, Path(args.data_dir) / "generate.log")
    work = data / "run"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    log = work / "bench.log"
    landing = data / "landing"
    # the append step (or a hand-made later day) writes into the landing zone: start
    # from the generated files (a leftover day made the 100M volume check fail)
    for extra in (landing / "events").glob("*next-day*.parquet"):
        extra.unlink()
    if args.builds_only:
        # the bare query is the yardstick: timed in every run, as this machine's speed
        # varies from day to day (the same landing 202 s one day, 310 s the next)
        steps["duckdb_features"] = bare_step(args, work, landing, log)
        reuse_engine_steps(size, Path(args.results_dir), steps)
    else:
        engine_steps(size, args, work, landing, log, steps)
    env = {"CS_DUCKDB_PATH": str(work / "warehouse.duckdb"),
           "CS_DUCKDB_TEMP_DIR": str(work / "spill"), "CS_DATA_DOCS_DIR": str(work / "docs"),
           "CS_DUCKDB_THREADS": str(args.threads), "CS_DUCKDB_MEMORY_LIMIT": args.memory_limit,
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    dbt = [str(BIN / "dbt"), "build", "--target-path", str(work / "target"),
           "--log-path", str(work / "logs")]
    land = [str(BIN / "cseg"), "land", "--landing-dir", str(landing), "--db",
            str(work / "warehouse.duckdb")]
    steps["land"] = run_step("land", land, env, log)
    steps["dbt_build"] = run_step("dbt_build", dbt, env, log)
    full_nodes = slowest_nodes(work / "target" / "run_results.json")
    appended = append_day(landing, landing / "events" / "zz-next-day.parquet")
    try:
        steps["land_append"] = run_step("land_append", land, env, log)
        steps["dbt_build_incremental"] = run_step("dbt_build_incremental", dbt, env, log)
    finally:
        (landing / "events" / "zz-next-day.parquet").unlink(missing_ok=True)
    if args.spark:
        spark_step(args, work, landing, log, steps)
    steps["dbt_build"]["slowest_nodes"] = full_nodes
    steps["dbt_build_incremental"]["slowest_nodes"] = slowest_nodes(
        work / "target" / "run_results.json")
    bare = steps["duckdb_features"]["seconds"]
    full = steps["land"]["seconds"] + steps["dbt_build"]["seconds"]
    incremental = steps["land_append"]["seconds"] + steps["dbt_build_incremental"]["seconds"]
    summary = {
        "events": size, "appended_events": appended,
        "customers": max(1_000, size // EVENTS_PER_CUSTOMER),
        "full_build_seconds": round(full, 1), "incremental_seconds": round(incremental, 1),
        "full_build_vs_bare": round(full / bare, 2),
        # the "full dbt build" without the landing before it (README Performance)
        "dbt_build_vs_bare": round(steps["dbt_build"]["seconds"] / bare, 2),
        "incremental_vs_bare": round(incremental / bare, 2),
        "full_build_peak_rss_mb": max(steps["land"]["peak_rss_mb"],
                                      steps["dbt_build"]["peak_rss_mb"]),
        "bare_events_per_s": round(size / bare),
        "full_build_events_per_s": round(size / full),
    }
    summary["capped_memory_limit"] = args.capped_memory_limit
    if "spark_build" in steps:
        spark = steps["spark_build"]["seconds"]
        summary["spark_build_seconds"] = round(spark, 1)
        summary["spark_vs_duckdb_full_build"] = round(spark / full, 2)
        summary["spark_build_vs_bare"] = round(spark / bare, 2)
    if "pandas_features" in steps:
        pandas = steps["pandas_features"]
        summary["pandas_vs_duckdb_time"] = round(pandas["seconds"] / bare, 2)
        summary["pandas_vs_duckdb_rss"] = round(
            pandas["peak_rss_mb"] / steps["duckdb_features"]["peak_rss_mb"], 2)
        capped = steps["duckdb_features_capped"]
        summary["pandas_vs_capped_time"] = round(pandas["seconds"] / capped["seconds"], 2)
        summary["pandas_vs_capped_rss"] = round(pandas["peak_rss_mb"] / capped["peak_rss_mb"],
                                                2)
    if not args.keep:
        shutil.rmtree(work / "spill", ignore_errors=True)
    record["summary"] = summary


def spark_step(args, work: Path, landing: Path, log: Path, steps: dict) -> None:
    """The whole project on local Spark (`cseg spark-build`: land, raw to Spark, dbt
    target spark, the Python models through the Spark runner) on the same landing zone,
    with the stage times it reports."""
    env = {"CS_SPARK_WAREHOUSE": str(work / "spark-warehouse"),
           "DBT_TARGET_PATH": str(work / "spark-target"),
           "DBT_LOG_PATH": str(work / "spark-logs"), "CS_DATA_DOCS_DIR": str(work / "docs"),
           "CS_SPARK_DRIVER_MEMORY": args.spark_driver_memory,
           "CS_SPARK_SHUFFLE_PARTITIONS": str(4 * args.threads),
           "PYSPARK_PYTHON": str(BIN / "python"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    cmd = [str(BIN / "cseg"), "spark-build", "--landing-dir", str(landing),
           "--db", str(work / "spark-landing.duckdb")]
    steps["spark_build"] = run_step("spark_build", cmd, env, log)
    stages = []
    for line in log.read_text().splitlines():
        if line.startswith("[spark-build] "):
            name, _, rest = line[len("[spark-build] "):].partition(": ")
            seconds = rest.rsplit("(", 1)[-1].rstrip(" s)")
            stages.append({"stage": name, "seconds": float(seconds)})
    steps["spark_build"]["stages"] = stages
    steps["spark_build"]["driver_memory"] = args.spark_driver_memory


def reuse_engine_steps(size: int, results_dir: Path, steps: dict) -> None:
    """--builds-only: the capped and pandas steps as the newest earlier run of this size
    that has them measured them (same generated data), marked with where they come from;
    none when no run has."""
    for path in sorted(results_dir.glob("bench-*.json"), reverse=True):
        try:
            run = json.loads(path.read_text())
        except ValueError:
            continue
        for record in run.get("sizes", []):
            earlier = record.get("steps", {})
            if record.get("events") == size and "seconds" in earlier.get(
                    "duckdb_features_capped", {}):
                for name in ("duckdb_features_capped", "pandas_features"):
                    if name in earlier and "reused_from" not in earlier[name]:
                        steps[name] = {**earlier[name], "reused_from": path.name}
                    elif name in earlier:
                        steps[name] = dict(earlier[name])
                print(f"  capped and pandas steps reused from {path.name}", flush=True)
                return
    print(f"  no earlier capped or pandas step of {size:,} events in {results_dir}",
          flush=True)


def bare_step(args, work: Path, landing: Path, log: Path) -> dict:
    """The bare DuckDB per-user feature set over the landing files: the yardstick."""
    return run_step(
        "duckdb_features", [str(Path(sys.executable)), str(HERE / "bench.py"), "step-duckdb",
                            str(landing), str(work / "duckdb.parquet"), "--threads",
                            str(args.threads), "--memory-limit", args.memory_limit], log=log)


def engine_steps(size: int, args, work: Path, landing: Path, log: Path, steps: dict
                 ) -> None:
    """The bare DuckDB feature set (uncapped and capped) and the pandas one, checked to
    give the same numbers."""
    py = str(Path(sys.executable))
    steps["duckdb_features"] = bare_step(args, work, landing, log)
    # the same query with DuckDB held to a small memory_limit (it spills): what pandas,
    # which cannot be capped, is up against when memory is the constraint
    steps["duckdb_features_capped"] = run_step(
        "duckdb_features_capped",
        [py, str(HERE / "bench.py"), "step-duckdb", str(landing),
         str(work / "duckdb_capped.parquet"), "--threads", str(args.threads),
         "--memory-limit", args.capped_memory_limit], log=log)
    if size <= args.pandas_max:
        steps["pandas_features"] = run_step(
            "pandas_features", [py, str(HERE / "bench.py"), "step-pandas", str(landing),
                                str(work / "pandas.parquet")], log=log)
        sys.path.insert(0, str(HERE))
        from reference import compare
        problems = compare(work / "duckdb.parquet", work / "pandas.parquet")
        steps["pandas_features"]["same_numbers"] = not problems
        if problems:
            raise SystemExit(f"pandas and DuckDB disagree: {problems}")


def slowest_nodes(run_results: Path, n: int = 12) -> list[dict]:
    """Where a dbt build spent its time: the slowest nodes (seconds of node time)."""
    try:
        results = json.loads(run_results.read_text())["results"]
    except (OSError, KeyError, ValueError):
        return []
    ranked = sorted(results, key=lambda r: r.get("execution_time", 0), reverse=True)
    return [{"node": r["unique_id"].split(".", 2)[-1],
             "seconds": round(r.get("execution_time", 0), 1)} for r in ranked[:n]]


def newest_per_size(results_dir: Path) -> list[tuple[dict, dict]]:
    """(run, size result) of the newest measurement of each size in the results folder,
    smallest size first: runs of different sizes (100M runs on demand) make one table."""
    newest: dict[int, tuple[dict, dict]] = {}
    for path in sorted(results_dir.glob("bench-*.json")):
        try:
            run = json.loads(path.read_text())
        except ValueError:
            continue
        for size in run.get("sizes", []):
            events = size.get("events") or size.get("summary", {}).get("events")
            if events:
                newest[events] = (run, size)
    return [newest[k] for k in sorted(newest)]


def markdown(rows: list[tuple[dict, dict]]) -> str:
    runs = {run["finished_at"]: run for run, _ in rows}
    lines = []
    for finished, run in sorted(runs.items()):
        labels = ", ".join(size["label"] for r, size in rows if r is run)
        lines.append(f"{labels}: measured {finished} on {run['machine']} (DuckDB threads "
                     f"{run['threads']}, memory_limit {run['memory_limit']}).")
    lines += ["",
              "| events | customers | bare DuckDB | pandas | DuckDB capped | "
              "full build (land + dbt) | incremental (1 day) | full / bare (dbt alone) | "
              "incr. / bare | "
              "pandas / DuckDB time, RSS | pandas / capped time, RSS | peak RSS full build |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    complete = [(run, size) for run, size in rows if "summary" in size]
    for _, size in complete:
        s, st = size["summary"], size["steps"]
        pandas, capped = st.get("pandas_features"), st.get("duckdb_features_capped")

        # computed, not read from the summary: runs before the field was added have it too
        dbt_alone = st["dbt_build"]["seconds"] / st["duckdb_features"]["seconds"]

        def cell(step: dict | None) -> str:
            return (f"{step['seconds']:.1f} s, {step['peak_rss_mb']:.0f} MB" if step
                    else "not run")

        lines.append(
            f"| {s['events']:,} | {s['customers']:,} | {cell(st['duckdb_features'])} | "
            f"{cell(pandas)} | "
            + (f"{cell(capped)} ({s['capped_memory_limit']})" if capped else "not run")
            + f" | {s['full_build_seconds']:.1f} s | {s['incremental_seconds']:.1f} s | "
            f"{s['full_build_vs_bare']:.1f}x ({dbt_alone:.1f}x) | "
            f"{s['incremental_vs_bare']:.1f}x | "
            + (f"{s['pandas_vs_duckdb_time']:.1f}x, {s['pandas_vs_duckdb_rss']:.1f}x | "
               if pandas else "- | ")
            + (f"{s['pandas_vs_capped_time']:.1f}x, {s['pandas_vs_capped_rss']:.1f}x | "
               if capped and pandas else "- | ")
            + f"{s['full_build_peak_rss_mb'] / 1024:.1f} GB |")
    for _, size in complete:
        s, spark = size["summary"], size["steps"].get("spark_build")
        if spark:
            slow = sorted(spark.get("stages", []), key=lambda x: -x["seconds"])[:3]
            lines += ["", f"{s['events']:,} events on local Spark (`cseg spark-build`, "
                          f"driver memory {spark.get('driver_memory')}): "
                          f"{spark['seconds']:.1f} s, {s['spark_vs_duckdb_full_build']:.1f}x "
                          f"the DuckDB full build, {s['spark_build_vs_bare']:.1f}x the bare "
                          f"aggregation; slowest stages: "
                          + "; ".join(f"{x['stage']} {x['seconds']:.0f} s" for x in slow)
                          + "."]
    for _, size in complete:
        bare_reused = size["steps"]["duckdb_features"].get("reused_from")
        reused = size["steps"].get("duckdb_features_capped", {}).get("reused_from")
        if bare_reused:  # runs before the bare query was timed in every run
            lines += ["", f"{size['events']:,} events: the builds measured with --builds-only; "
                          f"the bare, capped and pandas steps are those of {bare_reused}."]
        elif reused:
            lines += ["", f"{size['events']:,} events: the builds and the bare query measured "
                          f"with --builds-only; the capped and pandas steps are those of "
                          f"{reused}."]
    for _, size in rows:
        if "summary" in size:
            continue
        done = ", ".join(f"{k} {v['seconds']:.1f} s / {v['peak_rss_mb']:.0f} MB"
                         for k, v in size["steps"].items() if "seconds" in v)
        lines += ["", f"{size['events']:,} events did not complete: {size.get('failed')}. "
                      f"Measured before that: {done or 'nothing'}."]
    for (_, a), (_, b) in zip(complete, complete[1:], strict=False):
        a, b = a["summary"], b["summary"]
        lines += ["", f"Scaling {b['events']:,} / {a['events']:,} events: full build "
                      f"{b['full_build_seconds'] / a['full_build_seconds']:.1f}x the time, "
                      f"incremental {b['incremental_seconds'] / a['incremental_seconds']:.1f}x, "
                      f"for {b['events'] / a['events']:.0f}x the data."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("step-duckdb", "step-pandas"):
        sys.path.insert(0, str(HERE))
        import reference
        p = argparse.ArgumentParser()
        p.add_argument("step")
        p.add_argument("landing", type=Path)
        p.add_argument("out", type=Path)
        p.add_argument("--threads", type=int, default=2)
        p.add_argument("--memory-limit", default="8GB")
        a = p.parse_args(argv)
        if a.step == "step-duckdb":
            n = reference.run_duckdb(a.landing, a.out, a.threads, a.memory_limit)
        else:
            n = reference.run_pandas(a.landing, a.out)
        print(f"{n} customers")
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1M,10M", help="web events per run: 1M,10M,100M")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=int(os.environ.get("CS_DUCKDB_THREADS", 2)))
    # 6GB for DuckDB leaves room for the Python models in the same process (8 GB target)
    p.add_argument("--memory-limit", default=os.environ.get("CS_DUCKDB_MEMORY_LIMIT", "6GB"))
    p.add_argument("--capped-memory-limit", default="1GB",
                   help="memory_limit of the second, memory-capped bare DuckDB run")
    # pandas held 5.1 GB at 10M events and grows linearly: 100M would not fit in 24 GB
    p.add_argument("--pandas-max", type=parse_size, default=parse_size("10M"),
                   help="skip pandas above this many events")
    p.add_argument("--data-dir", default=str(HERE / "data"))
    p.add_argument("--results-dir", default=str(HERE / "results"))
    p.add_argument("--keep", action="store_true", help="keep the spill directory")
    p.add_argument("--builds-only", action="store_true",
                   help="time the bare DuckDB query, land and the dbt builds only; take "
                        "the capped and pandas steps from the newest earlier run of the "
                        "same size")
    p.add_argument("--spark", action="store_true",
                   help="also build the whole project on local Spark (make spark-install)")
    p.add_argument("--spark-driver-memory", default="8g")
    args = p.parse_args(argv)
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    labels = dict(zip(sizes, [s.strip() for s in args.sizes.split(",") if s.strip()],
                      strict=True))
    args.label_for = lambda n: labels[n]
    results_dir = Path(args.results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    run = {"started_at": started.isoformat(timespec="seconds"),
           "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                      f"{_memory_gb():.0f} GB RAM, Python {platform.python_version()}",
           "threads": args.threads, "memory_limit": args.memory_limit,
           # dbt's own concurrency (models at once), from the environment as the build
           # reads it (profiles.yml)
           "dbt_threads": int(os.environ.get("CS_DBT_THREADS", "2")), "sizes": []}
    failed = False
    for size in sizes:
        record = {"label": args.label_for(size), "events": size, "steps": {}}
        run["sizes"].append(record)
        try:
            bench_size(size, args, record)
        except StepFailed as exc:
            record["failed"] = str(exc)
            print(f"  FAILED: {exc}", flush=True)
            failed = True
    run["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    name = f"bench-{started:%Y%m%dT%H%M%SZ}.json"
    (results_dir / name).write_text(json.dumps(run, indent=2))
    table = markdown(newest_per_size(results_dir))
    (results_dir / "latest.md").write_text(table)
    print(table)
    print(f"results: {results_dir / name}")
    return 1 if failed else 0


def _memory_gb() -> float:
    try:
        with open("/proc/meminfo") as fh:
            return int(fh.readline().split()[1]) / 1024 / 1024
    except OSError:
        return 0.0


if __name__ == "__main__":
    raise SystemExit(main())
