"""Reverse-ETL exports: full, then diffs; consent; a failed export changes nothing."""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd
import pytest

from customer_segments.export import STATE, ExportError, export

pytestmark = pytest.mark.dbt


@pytest.fixture
def db(generated, tmp_path):
    path = tmp_path / "w.duckdb"
    shutil.copy(generated.db, path)
    return path


def _diff(folder) -> pd.DataFrame:
    return pd.read_csv(folder / "diff.csv", dtype=str)


def test_full_then_diffs(db, tmp_path):
    out = tmp_path / "exports"
    first = export(db, out, run_id="r1")
    con = duckdb.connect(str(db))
    exportable = con.execute("select count(*) from activation.user_segments "
                             "where is_exportable").fetchone()[0]
    assert first.full_rows == exportable == first.added > 100
    full = pd.read_parquet(first.folder / "full.parquet")
    assert list(full.columns[:2]) == ["email", "external_id"] and full.email.notna().all()
    consent = dict(con.execute("select customer_id, consent_status from "
                               "activation.user_segments").fetchall())
    assert {consent[c] for c in full.external_id} == {"consented"}
    assert len(pd.read_csv(first.folder / "full.csv")) == len(full)

    again = export(db, out, run_id="r2")
    assert (again.added, again.changed, again.removed) == (0, 0, 0)
    assert _diff(again.folder).empty

    changed_id, removed_id = con.execute(
        "select customer_id from activation.user_segments where is_exportable "
        "order by customer_id limit 2").fetchall()
    con.execute("update activation.user_segments set rfm_segment = 'lost', "
                "export_hash = md5('changed') where customer_id = ?", [changed_id[0]])
    con.execute("update activation.user_segments set is_exportable = false, "
                "consent_status = 'unsubscribed' where customer_id = ?", [removed_id[0]])
    con.close()
    third = export(db, out, run_id="r3")
    diff = _diff(third.folder)
    assert (third.added, third.changed, third.removed) == (0, 1, 1)
    assert sorted(zip(diff.change, diff.external_id, strict=True)) == [
        ("changed", changed_id[0]), ("removed", removed_id[0])]
    assert diff.set_index("change").loc["changed", "rfm_segment"] == "lost"
    assert (out / "LATEST").read_text().strip() == "r3"


def test_a_failed_export_leaves_files_and_state(db, tmp_path):
    out = tmp_path / "exports"
    export(db, out, run_id="r1")
    con = duckdb.connect(str(db))
    before = con.execute(f"select * from {STATE} order by customer_id").df()
    con.execute("update activation.user_segments set export_hash = md5('x') "
                "where customer_id = (select min(customer_id) from activation.user_segments "
                "where is_exportable)")
    con.close()
    (out / "r2").mkdir()  # the folder the export would write to exists: it must fail
    with pytest.raises(ExportError, match="exists already"):
        export(db, out, run_id="r2")
    con = duckdb.connect(str(db))
    after = con.execute(f"select * from {STATE} order by customer_id").df()
    con.close()
    pd.testing.assert_frame_equal(before, after)
    assert not [p for p in out.iterdir() if p.name.startswith(".export-")]
    retry = export(db, out, run_id="r3")
    assert retry.changed == 1  # the next diff is still right
