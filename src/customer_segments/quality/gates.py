"""The export gates: may the newest build's segments go to the ESP?

Read at export time from what the build left in the warehouse:
- build: the newest dbt build/run finished and nothing in it (or in a later dbt test)
  failed; the on-run hooks write quality.dbt_invocations. A build killed mid-way has
  no finish time, so its half-written marts are never exported;
- expectations: no failed critical Great Expectations check (quality.expectation_results);
- volume: no volume check at error (quality.volume_checks);
- freshness: every landed source was landed within the error window (wall clock);
- models: every model has usable scores (ml_model_runs). A rejected fit whose previous
  model kept scoring is a warning: keeping the last good scores is the gate working.

Any gate at `error` stops the export; warnings are printed and the export goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import yaml

from customer_segments import config
from customer_segments.land import MANIFEST

OK, WARN, ERROR = "ok", "warn", "error"


@dataclass(frozen=True)
class Gate:
    name: str
    status: str
    detail: str

    def line(self) -> str:
        return f"[{self.status.upper():>5}] {self.name}: {self.detail}"


def freshness_hours(project: Path | None = None) -> tuple[float, float]:
    """(warn, error) hours: the dbt vars freshness_warn_hours / freshness_error_hours."""
    project = project or config.project_root()
    vars_ = yaml.safe_load((project / "dbt_project.yml").read_text()).get("vars", {})
    return float(vars_["freshness_warn_hours"]), float(vars_["freshness_error_hours"])


def _query(con, sql: str) -> list[tuple] | None:
    try:
        return con.execute(sql).fetchall()
    except duckdb.CatalogException:
        return None


def build_gate(con) -> Gate:
    rows = _query(con, """
        select invocation_id, command, invocation_status, failed_nodes, started_at,
               finished_at
        from quality.dbt_invocations order by started_at""")
    if not rows:
        return Gate("build", ERROR, "no dbt build recorded (quality.dbt_invocations): "
                                    "run dbt build")
    builds = [i for i, r in enumerate(rows) if r[1] in ("build", "run")]
    if not builds:
        return Gate("build", ERROR, "no dbt build or run recorded: run dbt build")
    since = rows[builds[-1]:]
    for _, command, status, failed, started, finished in since:
        if finished is None:
            return Gate("build", ERROR, f"dbt {command} started {started:%Y-%m-%d %H:%M:%S} "
                                        "UTC did not finish (killed, or still running): "
                                        "run dbt build again")
        if status != "success":
            return Gate("build", ERROR, f"dbt {command} of {started:%Y-%m-%d %H:%M:%S} UTC "
                                        f"failed: {failed}")
    last = rows[builds[-1]]
    return Gate("build", OK, f"dbt {last[1]} finished {last[5]:%Y-%m-%d %H:%M:%S} UTC")


def expectations_gate(con) -> Gate:
    rows = _query(con, """
        select suite_name, expectation_type, column_name, severity, observed_value
        from quality.expectation_results where not success
        order by severity, suite_name, validation_id""")
    if rows is None:
        return Gate("expectations", ERROR, "no Great Expectations results "
                                           "(quality.expectation_results): run dbt build")
    failed = [f"{s}.{e}({c or ''}) observed {o}" for s, e, c, sev, o in rows
              if sev == "critical"]
    warned = [f"{s}.{e}({c or ''}) observed {o}" for s, e, c, sev, o in rows
              if sev != "critical"]
    if failed:
        return Gate("expectations", ERROR, f"{len(failed)} critical failed: "
                    + "; ".join(failed[:10]))
    if warned:
        return Gate("expectations", WARN, f"{len(warned)} warning(s): "
                    + "; ".join(warned[:10]))
    return Gate("expectations", OK, "every expectation passed")


def volume_gate(con) -> Gate:
    rows = _query(con, """
        select check_status, check_message from quality.volume_checks
        where check_status in ('warn', 'error') order by check_status, check_message""")
    if rows is None:
        return Gate("volume", ERROR, "no volume checks (quality.volume_checks): "
                                     "run dbt build")
    errors = [m for s, m in rows if s == "error"]
    if errors:
        return Gate("volume", ERROR, "; ".join(errors))
    if rows:
        return Gate("volume", WARN, "; ".join(m for _, m in rows))
    return Gate("volume", OK, "newest day within bounds for every checked series")


def freshness_gate(con, warn_hours: float, error_hours: float,
                   now: datetime | None = None) -> Gate:
    now = (now or datetime.now(UTC)).replace(tzinfo=None)
    rows = _query(con, f"select source, max(landed_at) from {MANIFEST} "
                       "group by source order by source")
    if not rows:
        return Gate("freshness", ERROR, "nothing landed (raw._landed_files)")
    ages = {s: (now - t.replace(tzinfo=None)).total_seconds() / 3600 for s, t in rows}
    stale = {s: a for s, a in ages.items() if a > error_hours}
    if stale:
        return Gate("freshness", ERROR, "; ".join(
            f"{s} last landed {a:.0f} h ago (error after {error_hours:g} h)"
            for s, a in stale.items()))
    late = {s: a for s, a in ages.items() if a > warn_hours}
    if late:
        return Gate("freshness", WARN, "; ".join(
            f"{s} last landed {a:.0f} h ago (warn after {warn_hours:g} h)"
            for s, a in late.items()))
    return Gate("freshness", OK, f"every source landed within {warn_hours:g} h")


def models_gate(con) -> Gate:
    rows = _query(con, """
        select model_name, status, reason from (
            select *, row_number() over (partition by model_name
                                         order by fitted_at desc, run_id) as newest
            from marts.ml_model_runs) where newest = 1 order by model_name""")
    if rows is None or not rows:
        return Gate("models", ERROR, "no model runs (marts.ml_model_runs): run dbt build")
    notes = [f"{m} {s}: {r}" for m, s, r in rows if s != "accepted"]
    if notes:
        return Gate("models", WARN, "; ".join(notes) + " (previous or rule-based scores "
                                                     "in use)")
    return Gate("models", OK, ", ".join(m for m, _, _ in rows) + " accepted")


def evaluate(con, warn_hours: float | None = None, error_hours: float | None = None,
             now: datetime | None = None) -> list[Gate]:
    if warn_hours is None or error_hours is None:
        default_warn, default_error = freshness_hours()
        warn_hours = default_warn if warn_hours is None else warn_hours
        error_hours = default_error if error_hours is None else error_hours
    return [build_gate(con), expectations_gate(con), volume_gate(con),
            freshness_gate(con, warn_hours, error_hours, now), models_gate(con)]


def blocking(gates: list[Gate]) -> list[Gate]:
    return [g for g in gates if g.status == ERROR]
