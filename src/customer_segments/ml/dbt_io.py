"""Reading warehouse relations inside dbt Python models without copying whole tables.

Fitting reads a reproducible sample (DuckDB reservoir sampling with a seed); scoring
streams Arrow record batches, so memory is bounded by the sample and the batch size,
not by the number of customers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pandas as pd


def _is_pyspark(obj) -> bool:
    return type(obj).__module__.startswith("pyspark")


def _spark_adapted(session, *relations):
    """What dbt passes a Python model on Databricks (a SparkSession, Spark DataFrames)
    in the Spark runner's adapters, so the helpers below serve both; DuckDB objects and
    the runner's own adapters pass through."""
    if not (_is_pyspark(session) or any(_is_pyspark(r) for r in relations)):
        return (session, *relations)
    from ..spark.ml import SparkRelation, SparkSessionShim

    spark = session if _is_pyspark(session) else None
    adapted = []
    for rel in relations:
        if _is_pyspark(rel):
            spark = spark or rel.sparkSession
            name = f"_cs_input_{abs(hash(id(rel)))}"
            rel.createOrReplaceTempView(name)
            rel = SparkRelation(spark, name)
        adapted.append(rel)
    shim = SparkSessionShim(spark) if _is_pyspark(session) else session
    return (shim, *adapted)


def frame_of(relation) -> pd.DataFrame:
    """A small relation (a fit record) as pandas: DuckDB relation, the Spark runner's
    adapter or a Spark DataFrame."""
    if _is_pyspark(relation):
        return relation.toPandas()
    return relation.df()


def sample_frame(session, relation, max_rows: int, seed: int,
                 key: str = "customer_id") -> pd.DataFrame:
    """At most max_rows rows of the relation, sorted by key: the same rows in the same
    order for the same data and seed, whatever the thread count (row order matters to
    early stopping and calibration folds). The sample is the rows with the smallest
    hash of (key, seed): a deterministic, uniform choice."""
    session, relation = _spark_adapted(session, relation)
    q = relation.sql_query()
    n = session.sql(f"select count(*) from ({q})").fetchall()[0][0]
    if n <= max_rows:
        return session.sql(f"select * from ({q}) order by all").df()
    return session.sql(
        f"select * from (select * from ({q}) order by hash({key}, {int(seed)}), {key} "
        f"limit {int(max_rows)}) order by all").df()


def fingerprint(frame: pd.DataFrame) -> str:
    """A hash of a frame's content, the same for the same data. Doubles are compared as
    float32: parallel sums in the warehouse may differ in the last bits between runs."""
    import hashlib

    out = frame.copy()
    for col in out.select_dtypes("floating").columns:
        out[col] = out[col].astype("float32")
    hashed = pd.util.hash_pandas_object(out, index=False).to_numpy()
    return hashlib.sha1(hashed.tobytes()).hexdigest()[:16]


def _decimals_as_double(relation):
    """The relation with DECIMAL columns cast to DOUBLE by DuckDB (correctly rounded:
    80.85 stays 80.85; Arrow's own decimal-to-double cast gave 80.85000000000001, which
    moved one customer across a tree split, found by the Spark comparison)."""
    types = getattr(relation, "types", None)
    if types is None or not any(str(t).upper().startswith("DECIMAL") for t in types):
        return relation
    cols = [f'cast("{c}" as double) as "{c}"' if str(t).upper().startswith("DECIMAL")
            else f'"{c}"' for c, t in zip(relation.columns, types, strict=True)]
    return relation.project(", ".join(cols))


def iter_frames(relation, batch_rows: int) -> Iterator[pd.DataFrame]:
    relation = _decimals_as_double(relation)
    reader = relation.arrow(batch_size=batch_rows) if _takes_batch_size(relation) \
        else relation.arrow()
    if hasattr(reader, "read_next_batch"):
        for batch in reader:
            yield to_pandas(batch)
    else:  # an Arrow table
        for batch in reader.to_batches(max_chunksize=batch_rows):
            yield to_pandas(batch)


def to_pandas(batch) -> pd.DataFrame:
    """An Arrow batch as pandas, decimals (DECIMAL and HUGEINT sums) as float64 like
    DuckDB's own .df(): Arrow would give Python Decimal objects, which made encoding
    a 250k-row batch 2 s of pd.to_numeric instead of milliseconds."""
    import pyarrow as pa

    columns = []
    for spec, column in zip(batch.schema, batch.columns, strict=True):
        columns.append(column.cast(pa.float64()) if pa.types.is_decimal(spec.type)
                       else column)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names).to_pandas()


def _takes_batch_size(relation) -> bool:
    import inspect
    try:
        return "batch_size" in inspect.signature(relation.arrow).parameters
    except (TypeError, ValueError):
        return False


def score_in_batches(relation, batch_rows: int,
                     score: Callable[[pd.DataFrame], pd.DataFrame]):
    """score() applied to the relation in batches of batch_rows: on DuckDB the results
    as one pandas frame; a relation that can score in parallel itself (Spark: the
    runner's relations and Spark DataFrames) does so with mapInPandas on the executors
    and gives back a Spark DataFrame, which a model returns as it is (dbt-databricks
    and the runner write it from the executors). So score() must make every column of
    the model's table: nothing is added to the result afterwards."""
    if _is_pyspark(relation):
        _, relation = _spark_adapted(relation.sparkSession, relation)
    if hasattr(relation, "score_in_parallel"):
        return relation.score_in_parallel(score, batch_rows)
    parts = [score(frame) for frame in iter_frames(relation, batch_rows) if len(frame)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def score_changed(session, relation, this, batch_rows: int,
                  score: Callable[[pd.DataFrame], pd.DataFrame], run_id: str,
                  key: str = "customer_id", rescore_all: bool = False):
    """score_in_batches for only the rows the previous run's scores cannot vouch for.

    A row of `relation` keeps the score this model's table (`this`) holds for it when
    its input row is identical (`_input_hash`: a 64-bit hash of every column, computed
    by the engine) and the model is the same (`model_run_id` = run_id). Everything else
    is scored: new customers, changed features, all rows after a refit. Customers gone
    from `relation` go. So between refits a build scores only the customers whose
    features changed: a 15-minute build on the same as-of date scores the customers
    touched since the last one, not everyone. A hash collision could keep a stale
    score; with 64 bits and a few million rows that is a chance of about 1e-7 per run.
    Doubles are hashed to 9 decimals, so a change below 1e-9 keeps the score too.

    rescore_all (var ml_rescore_all) scores everyone, for a change to a model file's
    score() that neither a refit nor the features would show.

    The result has the columns of score() and `_input_hash` last: on DuckDB a relation
    (the kept rows are never copied out of the warehouse), on Spark a DataFrame."""
    session, relation = _spark_adapted(session, relation)
    on_spark = getattr(session, "dialect", None) == "spark"
    quote = (lambda c: f"`{c}`") if on_spark else (lambda c: f'"{c}"')
    # doubles rounded to 9 decimals: a parallel sum can differ in the last bits from
    # one build to the next, which would rescore everyone for nothing
    hashed = ("xxhash64" if on_spark else "hash") + "(" + ", ".join(
        f"round({quote(c)}, 9)" if str(t).lower() in ("double", "float", "real")
        else quote(c) for c, t in zip(relation.columns, relation.types, strict=True)) + ")"
    inputs = f"select *, {hashed} as _input_hash from ({relation.sql_query()}) as features"

    def scored(frame: pd.DataFrame) -> pd.DataFrame:
        out = score(frame.drop(columns="_input_hash"))
        out["_input_hash"] = frame["_input_hash"].to_numpy()
        return out

    previous = None if rescore_all else _columns_of(session, this)
    if previous is None or not {key, "_input_hash", "model_run_id"} <= set(previous):
        return score_in_batches(_relation(session, inputs), batch_rows, scored)
    run = str(run_id).replace("'", "''")
    same = (f"p.{key} = i.{key} and p._input_hash = i._input_hash "
            f"and p.model_run_id = '{run}'")
    kept = f"select p.* from {this} as p inner join ({inputs}) as i on {same}"
    todo = (f"select i.* from ({inputs}) as i where not exists "
            f"(select 1 from {this} as p where {same})")
    if session.sql(f"select count(*) from ({todo}) as t").fetchall()[0][0] == 0:
        return session.spark.sql(kept) if on_spark else session.sql(kept)
    new = score_in_batches(_relation(session, todo), batch_rows, scored)
    if on_spark:
        return session.spark.sql(kept).unionByName(new)
    name = f"_cs_new_scores_{abs(hash(str(this)))}"
    session.register(name, new)
    return session.sql(f"{kept} union all by name select * from {name}")


def setting_is_true(settings: dict, name: str) -> bool:
    """A boolean dbt var as rendered into a model's meta ("True", "false", ...)."""
    return str(settings.get(name, "")).strip().lower() in ("true", "1", "yes")


def _columns_of(session, this) -> list[str] | None:
    """The columns of this model's table as the previous run left it; None on the
    first run."""
    try:
        return list(session.sql(f"select * from {this}").columns)
    except Exception:  # noqa: BLE001 - first run: the table does not exist yet
        return None


def _relation(session, query: str):
    """A query as a relation score_in_batches takes (DuckDB, or the Spark runner's)."""
    if getattr(session, "dialect", None) == "spark":
        return session.relation(query)
    return session.sql(query)


def previous_rows(session, this) -> pd.DataFrame | None:
    """This model's table as the previous run left it, if there is one."""
    session, = _spark_adapted(session)
    try:
        return session.sql(f"select * from {this}").df()
    except Exception:  # noqa: BLE001 - first run: the table does not exist yet
        return None


def reuse_before_reading(session, examples_relation, this, params: dict,
                         refit_every_days: int) -> pd.DataFrame | None:
    """The previous fit, without reading the training examples, when they are still
    the ones it was fitted on (their as-of date is the fit's: `int_ml_training_examples`
    keeps its rows between refits) and `runs.reusable_fit` would reuse it anyway. Saves
    sampling and fingerprinting the examples on every run inside the refit cadence."""
    from .runs import reusable_fit

    session, examples_relation = _spark_adapted(session, examples_relation)
    previous = previous_rows(session, this)
    if previous is None or len(previous) != 1 or pd.isna(previous.as_of_date.iloc[0]):
        return None
    latest = session.sql(
        f"select max(as_of_date) from ({examples_relation.sql_query()}) "
        "where example_role = 'holdout_test'").fetchall()[0][0]
    if latest is None:
        return None
    as_of = pd.Timestamp(latest) + pd.Timedelta(days=int(params["horizon_days"]))
    if as_of != pd.Timestamp(previous.as_of_date.iloc[0]):
        return None
    return reusable_fit(previous, params, as_of, refit_every_days)


@dataclass
class SupervisedInputs:
    """What the churn and value fits start from."""
    train: pd.DataFrame  # examples at as_of - 2H (fit to evaluate)
    test: pd.DataFrame  # examples at as_of - H (evaluate; then fit the production model)
    previous: pd.DataFrame | None  # this fit model's table as the last run left it
    as_of: object  # the date the production model scores
    horizon: int
    seed: int
    problems: list[str] = field(default_factory=list)  # data gates that failed


def supervised_inputs(session, examples_relation, daily_relation, this,
                      settings: dict) -> SupervisedInputs:
    """Sample the point-in-time examples, split them by cutoff, and check the data gates
    (customers, history), shared by the churn and value fits. The relations come from
    the model file: dbt sees a model's dbt.ref() calls only there."""
    from .runs import data_problems

    session, examples_relation, daily_relation = _spark_adapted(
        session, examples_relation, daily_relation)
    seed = int(settings["ml_random_state"])
    horizon = int(settings["churn_horizon_days"])
    examples = sample_frame(session, examples_relation,
                            2 * int(settings["ml_max_fit_rows"]), seed)
    daily = daily_relation.sql_query()
    first, last = session.sql("select min(activity_date), max(activity_date) "
                              f"from ({daily})").fetchall()[0]
    # calendar days, both ends included (portable SQL: the engines' datediff differ)
    span = (pd.Timestamp(last) - pd.Timestamp(first)).days + 1 if first is not None else 0
    train = examples[examples.example_role == "holdout_train"]
    test = examples[examples.example_role == "holdout_test"]
    as_of = test.as_of_date.max() + pd.Timedelta(days=horizon) if len(test) else None
    problems = data_problems(train, test, history_days=int(span), horizon_days=horizon,
                             min_customers=int(settings["ml_gate_min_customers"]),
                             min_history_days=int(settings["ml_gate_min_history_days"]))
    return SupervisedInputs(train, test, previous_rows(session, this), as_of, horizon,
                            seed, problems)
