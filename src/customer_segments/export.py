"""Exports for reverse ETL: the full exportable set and the diff since the last export.

Reads `activation.user_segments` (only rows with is_exportable), writes CSV and/or
Parquet with column names an ESP import accepts (email as the identifier, the labels
as custom properties), and keeps what was last exported in `activation._export_state`.

The diff compares each customer's export_hash with the state: added (new exportable
customers), changed (hash differs), removed (exported before, not exportable now:
unsubscribed, deleted, moved to the holdout). Files are written to a temporary folder
and renamed into place, and the state is replaced in one transaction after the files
are in place: a failed export leaves both the previous files and the previous state,
so the next diff is still right. A rerun with no change writes an empty diff.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from .config import duckdb_connect
from .quality.gates import Gate, blocking, evaluate

STATE = "activation._export_state"
# warehouse column -> ESP property name
PROPERTIES = {
    "email": "email",
    "customer_id": "external_id",
    "first_name": "first_name",
    "rfm_segment": "rfm_segment",
    "engagement_tier": "engagement_tier",
    "lifecycle_stage": "lifecycle_stage",
    "cluster_name": "segment",
    "churn_risk_tier": "churn_risk",
    "next_best_action": "next_best_action",
    "favourite_category": "favourite_category",
    "best_send_hour": "best_send_hour_utc",
    "is_cart_abandoner": "cart_abandoner",
    "is_high_value": "high_value",
    "is_bargain_hunter": "bargain_hunter",
    "is_window_shopper": "window_shopper",
    "is_new_subscriber": "new_subscriber",
}


class ExportError(RuntimeError):
    """The export could not run; nothing was changed."""


class GateError(ExportError):
    """A quality gate is at error: the export refused to run, the previous one stays."""

    def __init__(self, gates):
        self.gates = gates
        lines = "\n".join(g.line() for g in gates)
        super().__init__(f"refused: {len(gates)} gate(s) failed; the previous export "
                         f"stays in place\n{lines}")


@dataclass
class ExportResult:
    folder: Path
    full_rows: int
    added: int
    changed: int
    removed: int

    def summary(self) -> str:
        return (f"exported {self.full_rows:,} customers to {self.folder}; diff: "
                f"{self.added:,} added, {self.changed:,} changed, {self.removed:,} removed")


def _select_properties() -> str:
    return ", ".join(f'{col} as "{name}"' for col, name in PROPERTIES.items())


def export(db: Path | str, out_dir: Path | str, formats: tuple[str, ...] = ("csv", "parquet"),
           run_id: str | None = None, check_gates: bool = True,
           on_gate: Callable[[Gate], None] | None = None) -> ExportResult:
    """Write the full and diff files, then record what was exported. With check_gates
    (the default) the quality gates are evaluated first and any gate at error stops
    the export before anything is written."""
    out_dir = Path(out_dir)
    run_id = run_id or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    con = duckdb_connect(db)
    try:
        try:
            con.execute("select 1 from activation.user_segments limit 1")
        except duckdb.Error as exc:
            raise ExportError("activation.user_segments not found: run dbt build first "
                              f"({exc})") from exc
        if check_gates:
            gates = evaluate(con)
            for gate in gates:
                if on_gate:
                    on_gate(gate)
            if blocking(gates):
                raise GateError(blocking(gates))
        con.execute(f"create table if not exists {STATE} (customer_id varchar primary key, "
                    "email varchar, export_hash varchar, exported_at timestamp)")
        con.execute("""
            create or replace temp table current_export as
            select * from activation.user_segments where is_exportable""")
        con.execute(f"""
            create or replace temp table export_diff as
            select 'added' as change, c.* from current_export c
            left join {STATE} s using (customer_id) where s.customer_id is null
            union all
            select 'changed' as change, c.* from current_export c
            join {STATE} s using (customer_id) where s.export_hash != c.export_hash
        """)
        con.execute(f"""
            create or replace temp table export_removed as
            select s.customer_id, s.email from {STATE} s
            left join current_export c using (customer_id) where c.customer_id is null
        """)
        staging = Path(tempfile.mkdtemp(prefix=f".export-{run_id}-", dir=_ensure(out_dir)))
        try:
            props = _select_properties()
            for fmt in formats:
                opts = "(format parquet, compression zstd)" if fmt == "parquet" \
                    else "(header, delimiter ',')"
                ext = "parquet" if fmt == "parquet" else "csv"
                con.execute(f"copy (select {props} from current_export order by customer_id) "
                            f"to '{staging / f'full.{ext}'}' {opts}")
                con.execute(f"copy (select change as \"change\", {props} from export_diff "
                            f"union all select 'removed', email, customer_id, "
                            f"{', '.join('null' for _ in list(PROPERTIES)[2:])} "
                            f"from export_removed order by 3) "
                            f"to '{staging / f'diff.{ext}'}' {opts}")
            final = out_dir / run_id
            if final.exists():
                raise ExportError(f"{final} exists already")
            staging.rename(final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        counts = dict(con.execute("select change, count(*) from export_diff group by 1"
                                  ).fetchall())
        removed = con.execute("select count(*) from export_removed").fetchone()[0]
        full = con.execute("select count(*) from current_export").fetchone()[0]
        con.execute("begin transaction")
        try:
            con.execute(f"delete from {STATE}")
            con.execute(f"insert into {STATE} select customer_id, email, export_hash, "
                        "now()::timestamp from current_export")
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        latest = out_dir / "LATEST"
        latest.write_text(run_id + "\n")
        return ExportResult(final, full, counts.get("added", 0), counts.get("changed", 0),
                            removed)
    finally:
        con.close()


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
