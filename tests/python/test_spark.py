"""The whole project on local Spark (dbt-spark, `method: session`) against the DuckDB
build of the same generated landing zone: the same customers with the same labels in
user_segments, float scores within a tolerance. `make test-spark` runs this file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from customer_segments.generate import GenerateConfig, generate

from .conftest import PROJECT, Build, build_landing

pytestmark = pytest.mark.spark

CSEG = Path(sys.executable).with_name("cseg")
# float columns: sums in another order; everything else must be equal
REL_TOL = 1e-6
BUILD_TIME_COLUMNS = {"updated_at"}  # when the row was built: differs between any builds


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> tuple[Build, Path, subprocess.CompletedProcess]:
    if shutil.which("java") is None:
        pytest.fail("Spark needs a Java runtime (java on PATH); see README 'On Spark'")
    root = tmp_path_factory.mktemp("spark")
    # enough customers and history for real fits (the ML gates: 500 customers, 270 days)
    cfg = GenerateConfig(customers=900, days=400, seed=17, chunk_size=900)
    generate(cfg, root / "landing", root / "truth", progress=False)
    (root / "duck").mkdir()
    duck = build_landing(root / "duck", root / "landing", root / "truth")
    env = {**os.environ, "CS_SPARK_WAREHOUSE": str(root / "spark-warehouse"),
           "DBT_TARGET_PATH": str(root / "spark-target"),
           "DBT_LOG_PATH": str(root / "spark-logs"),
           "CS_DATA_DOCS_DIR": str(root / "spark-data-docs"),
           "PYSPARK_PYTHON": sys.executable, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    proc = subprocess.run(
        [str(CSEG), "spark-build", "--landing-dir", str(root / "landing"),
         "--db", str(root / "landing.duckdb")],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=3600)
    print(proc.stdout[-3000:])
    return duck, root / "spark-warehouse", proc


def _spark_table(warehouse: Path, schema: str, table: str) -> pd.DataFrame:
    path = warehouse / f"{schema}.db" / table
    return duckdb.sql(f"select * from read_parquet('{path}/*.parquet')").df()


def _duck_table(build: Build, schema: str, table: str) -> pd.DataFrame:
    con = duckdb.connect(str(build.db), read_only=True)
    try:
        return con.execute(f"select * from {schema}.{table}").df()
    finally:
        con.close()


def test_the_spark_build_passes_every_stage(builds):
    _, _, proc = builds
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-6000:]


def test_user_segments_are_the_same_on_spark_and_duckdb(builds):
    duck, warehouse, proc = builds
    assert proc.returncode == 0, proc.stdout[-3000:]
    a = _duck_table(duck, "activation", "user_segments").set_index("customer_id").sort_index()
    b = _spark_table(warehouse, "activation", "user_segments").set_index("customer_id") \
        .sort_index()
    assert len(a) > 500
    assert list(a.index) == list(b.index)  # the same customers
    assert set(a.columns) == set(b.columns)
    assert a.churn_probability.notna().all() and a.cluster_name.notna().all()
    mismatches = {}
    for col in a.columns:
        if col in BUILD_TIME_COLUMNS:
            continue
        x, y = a[col], b[col]
        if pd.api.types.is_float_dtype(x) or pd.api.types.is_float_dtype(y):
            xs, ys = pd.to_numeric(x).to_numpy(float), pd.to_numeric(y).to_numpy(float)
            same = np.isclose(xs, ys, rtol=REL_TOL, atol=1e-9, equal_nan=True)
        else:
            xs = x.astype("object").where(x.notna(), None)
            ys = y.astype("object").where(y.notna(), None)
            if pd.api.types.is_datetime64_any_dtype(x) or pd.api.types.is_datetime64_any_dtype(y):
                xs, ys = pd.to_datetime(x), pd.to_datetime(y)
                same = ((xs == ys) | (xs.isna() & ys.isna())).to_numpy()
            else:
                same = np.array([u == v for u, v in zip(xs, ys, strict=True)])
        if not same.all():
            bad = np.flatnonzero(~same)[:3]
            mismatches[col] = (int((~same).sum()),
                               [(a.index[i], x.iloc[i], y.iloc[i]) for i in bad])
    assert not mismatches, mismatches


def test_the_models_were_fitted_not_rule_based_on_both(builds):
    """The comparison above means something only if both engines fitted real models."""
    duck, warehouse, proc = builds
    assert proc.returncode == 0, proc.stdout[-3000:]
    for name in ("clusters_fit", "churn_fit", "value_fit"):
        a = _duck_table(duck, "ml", f"ml_{name}")
        b = _spark_table(warehouse, "ml", f"ml_{name}")
        assert list(a.status) == ["accepted"], (name, a[["status", "reason"]])
        assert list(b.status) == ["accepted"], (name, b[["status", "reason"]])
        assert a.training_rows.iloc[0] == b.training_rows.iloc[0]


def test_the_model_files_run_as_dbt_runs_them_on_databricks(builds, monkeypatch):
    """dbt on Databricks calls model(dbt, session) with a SparkSession, and dbt.ref()
    gives Spark DataFrames (not the runner's adapters): the ML model files score the
    same with those."""
    import json

    from customer_segments.spark import ml
    from customer_segments.spark.session import get_session

    _, warehouse, proc = builds
    assert proc.returncode == 0, proc.stdout[-3000:]
    monkeypatch.setenv("CS_SPARK_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    manifest = json.loads((warehouse.parent / "spark-target" / "manifest.json").read_text())
    spark = get_session("databricks-convention")
    spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
    try:
        class Dbt:  # what dbt-databricks passes: refs are Spark DataFrames
            def __init__(self, node, this=None):
                self.config = ml._Config(node)
                self.this = this or ml.relation_name(node)

            def ref(self, name):
                return spark.table(ml.relation_name(ml.find_node(manifest, name)))

        node = ml.find_node(manifest, "ml_churn_scores")
        model = ml.load_model_function(PROJECT, node)
        stored = _spark_table(warehouse, "ml", "ml_churn_scores").set_index("customer_id") \
            .sort_index()
        # without a previous table everyone is scored; with the stored one (same
        # features, same model) every score is kept
        for this in ("ml.no_previous_scores", None):
            returned = model(Dbt(node, this), spark)
            # a Spark DataFrame, as dbt-databricks wants it: the scores stay on the
            # executors
            assert type(returned).__name__ == "DataFrame" and hasattr(returned, "toPandas")
            scores = returned.toPandas().set_index("customer_id").sort_index()
            assert list(scores.index) == list(stored.index)
            assert np.allclose(scores.churn_probability, stored.churn_probability,
                               rtol=1e-9)
            assert (scores.model_run_id == stored.model_run_id).all()
            assert (scores._input_hash == stored._input_hash).all()
        fit_node = ml.find_node(manifest, "ml_churn_fit")
        fit = ml.load_model_function(PROJECT, fit_node)(Dbt(fit_node), spark)
        # within the refit cadence: the stored fit is reused, read through Spark
        assert list(fit.status) == ["accepted"]
    finally:
        spark.stop()
