"""Reading warehouse relations inside dbt Python models without copying whole tables.

Fitting reads a reproducible sample (DuckDB reservoir sampling with a seed); scoring
streams Arrow record batches, so memory is bounded by the sample and the batch size,
not by the number of customers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pandas as pd


def sample_frame(session, relation, max_rows: int, seed: int,
                 key: str = "customer_id") -> pd.DataFrame:
    """At most max_rows rows of the relation, sorted by key: the same rows in the same
    order for the same data and seed, whatever the thread count (row order matters to
    early stopping and calibration folds). The sample is the rows with the smallest
    hash of (key, seed): a deterministic, uniform choice."""
    q = relation.sql_query()
    n = session.sql(f"select count(*) from ({q})").fetchall()[0][0]
    if n <= max_rows:
        return session.sql(f"select * from ({q}) order by all").df()
    return session.sql(
        f"select * from (select * from ({q}) order by hash({key}, {int(seed)}), {key} "
        f"limit {int(max_rows)}) order by all").df()


def iter_frames(relation, batch_rows: int) -> Iterator[pd.DataFrame]:
    reader = relation.arrow(batch_size=batch_rows) if _takes_batch_size(relation) \
        else relation.arrow()
    if hasattr(reader, "read_next_batch"):
        for batch in reader:
            yield batch.to_pandas()
    else:  # an Arrow table
        for batch in reader.to_batches(max_chunksize=batch_rows):
            yield batch.to_pandas()


def _takes_batch_size(relation) -> bool:
    import inspect
    try:
        return "batch_size" in inspect.signature(relation.arrow).parameters
    except (TypeError, ValueError):
        return False


def score_in_batches(relation, batch_rows: int,
                     score: Callable[[pd.DataFrame], pd.DataFrame]) -> pd.DataFrame:
    parts = [score(frame) for frame in iter_frames(relation, batch_rows) if len(frame)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def previous_rows(session, this) -> pd.DataFrame | None:
    """This model's table as the previous run left it, if there is one."""
    try:
        return session.sql(f"select * from {this}").df()
    except Exception:  # noqa: BLE001 - first run: the table does not exist yet
        return None
