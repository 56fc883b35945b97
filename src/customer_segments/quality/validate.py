"""Run the Great Expectations suites on frames read from DuckDB, store the results,
and render GX Data Docs.

GX's SQL datasource fails on DuckDB (every expectation raises IndexError upstream), so
each relation is read into pandas and validated there:
- a relation of at most `max_rows` rows is validated whole;
- a larger one on a deterministic sample of about `max_rows` rows: the rows whose key
  hashes into the lowest max_rows/rows share of the hash range. Every row of a sampled
  key is kept, so uniqueness holds exactly for the keys validated, and the same data
  gives the same sample;
- a suite with a `changed` column (the staged event feeds: `_staged_at`) validates only
  the rows changed since the newest whole build that passed (`validated_since`): that
  build validated the earlier ones. The next-day build reads a day of new rows, not a
  hash of 240M keys (43 s at 100M events, mostly cold reads). Whole-table uniqueness
  stays with the dbt tests (unique_since_tested);
- row counts, reconciliation and freshness are whole-table facts computed in SQL
  (one row per source) and validated as their own small frames, never sampled.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pandas as pd

from customer_segments.contract import PII_COLUMNS

from .suites import CRITICAL, Suite

RESULT_COLUMNS = [
    "validation_id", "suite_name", "expectation_type", "column_name", "severity",
    "check_kwargs", "observed_value", "unexpected_count", "element_count", "rows_in_table",
    "rows_validated", "is_sampled", "validated_since", "success", "validated_at",
]


def days_between(session, start: str, end: str) -> str:
    """SQL for the calendar days from start to end (dates) in the session's engine: a
    DuckDB connection, or the Spark runner's session (`dialect` spark)."""
    if getattr(session, "dialect", "duckdb") == "spark":
        return f"datediff({end}, {start})"
    return f"date_diff('day', {start}, {end})"


def newest_passing_whole_build(session, build_log: str) -> str | None:
    """When the newest whole `dbt build` that passed every test finished (the build log
    the on-run-end hook writes, `macros/build_log.sql`), as 'YYYY-MM-DD HH:MM:SS.ffffff';
    None when none has, or there is no log."""
    try:
        value = session.sql(
            f"select max(finished_at) from {build_log} "
            "where is_whole_build and invocation_status = 'success'").fetchall()[0][0]
    except Exception:  # noqa: BLE001 - no log yet: validate everything
        return None
    return None if value is None else pd.Timestamp(value).isoformat(sep=" ")


def read_frame(session, sql: str, suite: Suite, max_rows: int,
               since: str | None = None) -> tuple[pd.DataFrame, int]:
    """The frame a suite validates, and how many rows the relation has (those changed
    since `since`, a timestamp 'YYYY-MM-DD HH:MM:SS[.ffffff]', when the suite has a
    `changed` column and `since` is given). Any PII column the suite's select let
    through is dropped: validators never see PII."""
    if since is not None and suite.changed:
        sql = (f"select * from ({sql}) as changed_rows "
               f"where {suite.changed} >= cast('{since}' as timestamp)")
    rows = session.sql(f"select count(*) from ({sql})").fetchall()[0][0]
    select = f"select {suite.select_list()} from ({sql})"
    if suite.sampled and suite.key is not None and rows > max_rows:
        # the keys whose 64-bit hash falls in the lowest max_rows/rows of the range: one
        # scan, no sort or distinct over the whole table (4 s -> 1 s on 10M events)
        threshold = int(2 ** 64 * max_rows / rows)
        if getattr(session, "dialect", "duckdb") == "spark":  # signed 64-bit hash
            select = (f"{select} where pmod(xxhash64({suite.key}), 1000000) < "
                      f"{int(1_000_000 * max_rows / rows)}")
        else:
            select = f"{select} where hash({suite.key}) < {threshold}::ubigint"
    frame = session.sql(select).df()
    return frame.drop(columns=[c for c in frame.columns if c in PII_COLUMNS]), int(rows)


def _context(docs_dir: Path | None):
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    if docs_dir is not None:
        ctx.add_data_docs_site(site_name="customer_segments", site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                              "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        })
    return ctx


def _observed(result: dict) -> str | None:
    for key in ("observed_value", "unexpected_percent"):
        if key in result and result[key] is not None:
            value = result[key]
            if isinstance(value, float):  # 6 significant digits: stable across runs
                return f"{value:.6g}%" if key == "unexpected_percent" else f"{value:.6g}"
            return str(value)[:200]
    return None


def validate(frames: dict[str, tuple[pd.DataFrame, int, bool]], suites: list[Suite],
             docs_dir: Path | None = None,
             validated_since: dict[str, str] | None = None) -> pd.DataFrame:
    """Validate each suite's frame; one row per expectation. `frames` maps a suite name
    to (frame, rows in the relation, whether the frame is a sample);
    `validated_since` a suite name to the time from which its rows were read (absent:
    the whole relation)."""
    validated_since = validated_since or {}
    import great_expectations as gx
    import great_expectations.expectations as gxe

    ctx = _context(docs_dir)
    source = ctx.data_sources.add_pandas("warehouse")
    validated_at = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
    rows = []
    for suite in suites:
        if suite.name not in frames:
            continue
        frame, total, sampled = frames[suite.name]
        gx_suite = ctx.suites.add(gx.ExpectationSuite(name=suite.name,
                                                      meta={"notes": suite.description}))
        for check in suite.checks:
            expectation = getattr(gxe, check.expectation)(
                **check.kwargs, meta={"severity": check.severity}, severity=check.severity)
            gx_suite.add_expectation(expectation)
        batch = source.add_dataframe_asset(suite.name).add_batch_definition_whole_dataframe(
            "whole" if not sampled else "sample")
        definition = ctx.validation_definitions.add(
            gx.ValidationDefinition(name=suite.name, data=batch, suite=gx_suite))
        checkpoint = ctx.checkpoints.add(gx.Checkpoint(
            name=f"{suite.name}_checkpoint", validation_definitions=[definition],
            result_format={"result_format": "SUMMARY"}))
        outcome = checkpoint.run(batch_parameters={"dataframe": frame})
        for run in outcome.run_results.values():
            for r in run.results:
                cfg = r.expectation_config
                kwargs = {k: v for k, v in cfg.kwargs.items() if k != "batch_id"}
                rows.append({
                    "validation_id": f"{suite.name}:{len(rows):03d}",
                    "suite_name": suite.name,
                    "expectation_type": cfg.type,
                    "column_name": kwargs.get("column") or
                    ",".join(str(kwargs[k]) for k in ("column_A", "column_B") if k in kwargs)
                    or None,
                    "severity": (cfg.meta or {}).get("severity", CRITICAL),
                    "check_kwargs": _json(kwargs),
                    "observed_value": _raised(r) or _observed(r.result or {}),
                    "unexpected_count": (r.result or {}).get("unexpected_count"),
                    "element_count": (r.result or {}).get("element_count", len(frame)),
                    "rows_in_table": total,
                    "rows_validated": len(frame),
                    "is_sampled": sampled,
                    "validated_since": validated_since.get(suite.name),
                    "success": bool(r.success) and _raised(r) is None,
                    "validated_at": validated_at,
                })
    if docs_dir is not None:
        if docs_dir.exists():
            shutil.rmtree(docs_dir)  # one site per build: the newest validation
        ctx.build_data_docs()
    out = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    for col in ("unexpected_count", "element_count", "rows_in_table", "rows_validated"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
    out["validated_since"] = pd.to_datetime(out["validated_since"])
    return out


def _raised(result) -> str | None:
    """The error message if the expectation raised instead of evaluating."""
    info = result.exception_info or {}
    candidates = [info] + [v for v in info.values() if isinstance(v, dict)]
    for item in candidates:
        if item.get("raised_exception"):
            return f"error: {item.get('exception_message')}"[:200]
    return None


def _json(obj) -> str:
    import json
    return json.dumps(obj, sort_keys=True, default=str)

