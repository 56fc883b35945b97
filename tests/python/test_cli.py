"""The command line wires the package together and fails with a clear message."""

from __future__ import annotations

import json

from customer_segments.cli import main


def test_generate_then_land(tmp_path, capsys):
    out, truth, db = tmp_path / "landing", tmp_path / "truth", tmp_path / "w.duckdb"
    assert main(["generate", "--customers", "150", "--days", "30", "--out", str(out),
                 "--truth-dir", str(truth), "--quiet"]) == 0
    assert json.loads((truth / "summary.json").read_text())["config"]["customers"] == 150
    assert main(["land", "--landing-dir", str(out), "--db", str(db)]) == 0
    assert "landed 4 file(s)" in capsys.readouterr().out
    assert main(["land", "--landing-dir", str(out), "--db", str(db)]) == 0
    assert "landed 0 file(s)" in capsys.readouterr().out


def test_land_error_exits_2_naming_the_file(tmp_path, capsys):
    (tmp_path / "l" / "orders").mkdir(parents=True)
    (tmp_path / "l" / "orders" / "x.xlsx").write_text("no")
    assert main(["land", "--landing-dir", str(tmp_path / "l"),
                 "--db", str(tmp_path / "w.duckdb")]) == 2
    assert "x.xlsx: not a CSV or Parquet file" in capsys.readouterr().err


def test_import_error_exits_2(tmp_path, capsys):
    (tmp_path / "m.yml").write_text("columns: {}\n")
    assert main(["import-transactions", "--input", str(tmp_path / "*.csv"),
                 "--mapping", str(tmp_path / "m.yml")]) == 2
    assert "mapping needs columns.order_id" in capsys.readouterr().err
