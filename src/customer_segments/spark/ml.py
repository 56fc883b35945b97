"""Run the project's dbt Python models on Spark, unchanged.

dbt-spark submits Python models only to Databricks. This runner gives the same model
files (python_models/**/*.py) what dbt would: a `dbt` object whose ref() and this name
Spark tables (from dbt's manifest, so schemas and aliases are dbt's) and whose
config.get('meta') holds the rendered settings, plus a `session` with the two calls
the models' helpers make (sql(...).fetchall() and .df()). What differs is where the
work happens:

- fits read a sample collected to the driver (`dbt_io.sample_frame`, at most
  ml_max_fit_rows customers, as on DuckDB);
- scoring runs on the executors: `dbt_io.score_in_batches` hands the library's scoring
  function to `mapInPandas`, one Arrow batch at a time;
- each model's result is written as the Spark table dbt's ref() names, which the SQL
  marts downstream (ml_model_runs, user_segments, ...) read.

The order is the models' dependency order from the manifest.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

log = logging.getLogger(__name__)


# -- what the model files see --------------------------------------------------------

class SparkRelation:
    """A table as the Python models use a DuckDB relation."""

    def __init__(self, spark, name: str):
        self.spark = spark
        self.name = name

    def __str__(self) -> str:
        return self.name

    def sql_query(self) -> str:
        return f"select * from {self.name}"

    @property
    def columns(self) -> list[str]:
        return self.spark.table(self.name).columns

    @property
    def types(self) -> list[str]:
        return [t for _, t in self.spark.table(self.name).dtypes]

    def frame(self):
        """The table with decimals as doubles (pandas would get Decimal objects)."""
        from pyspark.sql import functions as F
        from pyspark.sql.types import DecimalType

        df = self.spark.table(self.name)
        return df.select([F.col(f.name).cast("double").alias(f.name)
                          if isinstance(f.dataType, DecimalType) else F.col(f.name)
                          for f in df.schema.fields])

    def df(self) -> pd.DataFrame:
        return self.frame().toPandas()

    def score_in_parallel(self, score: Callable[[pd.DataFrame], pd.DataFrame],
                          batch_rows: int):
        """score() on every row, in parallel on the executors (mapInPandas, batches of
        at most batch_rows), as a Spark DataFrame: nothing is collected to the driver
        (the runner writes it from the executors). The output schema is that of score()
        on a few rows."""
        frame = self.frame()
        probe = score(frame.limit(50).toPandas())
        schema = self.spark.createDataFrame(_spark_ready(probe)).schema
        columns = list(probe.columns)

        def run(batches):
            for batch in batches:
                if len(batch):
                    yield _spark_ready(score(batch))[columns]

        self.spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(batch_rows))
        return frame.mapInPandas(run, schema)


class _Result:
    def __init__(self, df):
        self._df = df

    def fetchall(self) -> list[tuple]:
        return [tuple(r) for r in self._df.collect()]

    def df(self) -> pd.DataFrame:
        return self._df.toPandas()

    @property
    def columns(self) -> list[str]:
        return self._df.columns


class SparkSessionShim:
    """The `session` argument of a model: SQL on Spark."""

    dialect = "spark"  # for the few SQL snippets the engines spell differently

    def __init__(self, spark):
        self.spark = spark

    def sql(self, query: str) -> _Result:
        # a model's first run reads its own table, which is not there yet: say so in
        # Python (Spark would log a page of analyser errors before raising)
        m = re.fullmatch(r"\s*select \* from ([\w.`]+)\s*", query, re.IGNORECASE)
        if m and not self.spark.catalog.tableExists(m.group(1).replace("`", "")):
            raise LookupError(f"table {m.group(1)} does not exist")
        return _Result(self.spark.sql(query))

    def relation(self, query: str) -> SparkRelation:
        """A query as a relation (a temporary view), as DuckDB's sql() gives one."""
        name = f"_cs_query_{abs(hash(query))}"
        self.spark.sql(query).createOrReplaceTempView(name)
        return SparkRelation(self.spark, name)


class _Config:
    def __init__(self, node: dict):
        self._config = node.get("config", {})

    def __call__(self, **kwargs) -> str:  # dbt.config(materialized="table")
        return ""

    def get(self, key: str, default=None):
        return self._config.get(key, default)


class DbtShim:
    """The `dbt` argument of a model, resolved from the manifest."""

    def __init__(self, spark, manifest: dict, node: dict):
        self._spark = spark
        self._manifest = manifest
        self.config = _Config(node)
        self.this = SparkRelation(spark, relation_name(node))

    def ref(self, name: str) -> SparkRelation:
        return SparkRelation(self._spark, relation_name(find_node(self._manifest, name)))

    def source(self, source_name: str, table_name: str) -> SparkRelation:
        for node in self._manifest["sources"].values():
            if node["source_name"] == source_name and node["name"] == table_name:
                return SparkRelation(self._spark, f"{node['schema']}.{node['identifier']}")
        raise KeyError(f"source {source_name}.{table_name} not in the manifest")


# -- manifest --------------------------------------------------------------------------

def relation_name(node: dict) -> str:
    return f"{node['schema']}.{node.get('alias') or node['name']}"


def find_node(manifest: dict, name: str) -> dict:
    for node in manifest["nodes"].values():
        if node["resource_type"] in ("model", "seed", "snapshot") and node["name"] == name:
            return node
    raise KeyError(f"{name} is not a model or seed of the manifest")


def python_model_waves(manifest: dict) -> list[list[dict]]:
    """The enabled Python models in waves: every Python model upstream of one, directly
    or through SQL models, is in an earlier wave. The one walk of the manifest graph
    both the runner's order and spark-build's stages come from."""
    nodes = manifest["nodes"]
    python = {uid for uid, n in nodes.items()
              if n["resource_type"] == "model" and n.get("language") == "python"}
    memo: dict[str, set[str]] = {}

    def python_ancestors(uid: str) -> set[str]:
        if uid not in memo:
            memo[uid] = set()  # a cycle ends here; dbt itself refuses one
            found: set[str] = set()
            # sources are not among the nodes
            for parent in nodes.get(uid, {}).get("depends_on", {}).get("nodes", []):
                if parent in python:
                    found.add(parent)
                found |= python_ancestors(parent)
            memo[uid] = found
        return memo[uid]

    waves, done = [], set()
    while len(done) < len(python):
        wave = sorted(uid for uid in python - done if python_ancestors(uid) <= done)
        if not wave:
            raise RuntimeError("Python models depend on each other in a cycle")
        waves.append([nodes[uid] for uid in wave])
        done |= set(wave)
    return waves


def python_models(manifest: dict, names: list[str] | None = None) -> list[dict]:
    """The enabled Python models (or those named), upstream ones first."""
    ordered = [n for wave in python_model_waves(manifest) for n in wave
               if names is None or n["name"] in names]
    if names:
        missing = set(names) - {n["name"] for n in ordered}
        if missing:
            raise KeyError(f"not Python models of the manifest: {sorted(missing)}")
    return ordered


# -- writing results -------------------------------------------------------------------

def _spark_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame Spark can type: columns with no value at all become text (Spark cannot
    store a column of unknown type), pandas nullable and extension types plain."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if s.isna().all():
            out[col] = s.astype("object").where(s.notna(), None).astype("string")
        elif isinstance(s.dtype, pd.StringDtype) or str(s.dtype) == "str":
            out[col] = s.astype("object").where(s.notna(), None)
    return out


def write_table(spark, frame, name: str) -> int:
    """A model's result (pandas, or a Spark DataFrame written from the executors) as
    the table `name`; its row count."""
    schema_name = name.split(".")[0]
    spark.sql(f"create schema if not exists {schema_name}")
    df = frame if _is_spark_frame(frame) else spark.createDataFrame(_spark_ready(frame))
    # read fully before replacing: a model may read its own previous table
    df = df.localCheckpoint(eager=True)
    df.write.mode("overwrite").format("parquet").saveAsTable(name)
    return spark.table(name).count()


def _is_spark_frame(frame) -> bool:
    return type(frame).__module__.startswith("pyspark.") and hasattr(frame, "toPandas")


# -- the run ---------------------------------------------------------------------------

def load_model_function(project_dir: Path, node: dict):
    path = project_dir / node["original_file_path"]
    spec = importlib.util.spec_from_file_location(f"_cs_model_{node['name']}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.model


def run_python_models(project_dir: Path, manifest_path: Path, *, spark=None,
                      names: list[str] | None = None) -> list[dict]:
    """Run the Python models on Spark in dependency order; one result row per model."""
    from .session import get_session

    manifest = json.loads(manifest_path.read_text())
    spark = spark or get_session()
    spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
    session = SparkSessionShim(spark)
    results = []
    for node in python_models(manifest, names):
        started = time.perf_counter()
        model = load_model_function(project_dir, node)
        frame = model(DbtShim(spark, manifest, node), session)
        if not (isinstance(frame, pd.DataFrame) or _is_spark_frame(frame)):
            frame = frame.df()  # a session relation
        rows = write_table(spark, frame, relation_name(node))
        seconds = time.perf_counter() - started
        log.info("%s: %d rows in %.1f s", node["name"], rows, seconds)
        print(f"  {node['name']:<24} {rows:>10,} rows  {seconds:6.1f} s", file=sys.stderr)
        results.append({"model": node["name"], "rows": rows, "seconds": seconds})
    return results
