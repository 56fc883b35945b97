"""The generator: deterministic, streams in chunks, plants what the ground truth says."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from customer_segments.generate import PERSONAS, GenerateConfig, generate
from customer_segments.land import land


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen")
    cfg = GenerateConfig(customers=6_000, days=365, seed=11, bad_rate=0.03,
                         duplicate_rate=0.01, chunk_size=2_500)
    summary = generate(cfg, root / "landing", root / "truth", progress=False)
    return root, cfg, summary


def _read(root: Path, source: str) -> pd.DataFrame:
    """The source's rows as landed (the landing step reads CSV and Parquet alike), with
    `file` and `row` lineage."""
    db = root / "landed.duckdb"
    if not db.exists():
        land(root / "landing", db)
    con = duckdb.connect(str(db), read_only=True)
    try:
        df = con.execute(f"select * from raw.{source}").df()
    finally:
        con.close()
    return df.rename(columns={"_source_file": "file", "_source_row": "row"})


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    cfg = GenerateConfig(customers=300, days=60, seed=3, chunk_size=200)
    generate(cfg, tmp_path / "a", tmp_path / "ta", progress=False)
    generate(cfg, tmp_path / "b", tmp_path / "tb", progress=False)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "ta") == _digest(tmp_path / "tb")
    cfg.seed = 4
    generate(cfg, tmp_path / "c", tmp_path / "tc", progress=False)
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_chunks_write_one_part_per_chunk_with_unique_ids(sample):
    root, cfg, _ = sample
    n_chunks = -(-cfg.customers // cfg.chunk_size)
    for source in ("customers", "orders", "events", "email_events"):
        assert len(list((root / "landing" / source).glob("part-*"))) == n_chunks
    truth = pd.read_parquet(root / "truth" / "customers.parquet")
    assert len(truth) == cfg.customers and truth.customer_id.is_unique


def test_bad_rows_are_where_the_truth_says_with_the_planted_rate(sample):
    root, cfg, summary = sample
    bad = pd.read_parquet(root / "truth" / "bad_rows.parquet")
    for source in ("customers", "orders", "events", "email_events"):
        rows = summary["rows"][source]["rows"]
        planted = bad[(bad.source == source) & (bad.reason_code != "exact_duplicate")]
        valid = rows - len(bad[bad.source == source])
        rate = len(planted) / valid
        assert abs(rate - cfg.bad_rate) < 0.35 * cfg.bad_rate + 0.005, (source, rate)
        kinds = set(planted.reason_code)
        assert len(kinds) >= 5, (source, kinds)
    orders = _read(root, "orders")
    merged = bad[bad.source == "orders"].merge(
        orders, left_on=["source_file", "source_row"], right_on=["file", "row"])
    assert len(merged) == len(bad[bad.source == "orders"])
    by = dict(iter(merged.groupby("reason_code")))
    assert by["missing_customer_id"].customer_id.isna().all()
    assert pd.to_numeric(by["non_numeric_amount"].revenue, errors="coerce").isna().all()
    assert (by["negative_amount"].revenue.astype(float) < 0).all()
    assert by["unknown_customer_id"].customer_id.str.startswith("UNKNOWN").all()
    assert by["future_timestamp"].ordered_at.str.startswith("20").all()
    assert (by["future_timestamp"].ordered_at > "2031").all()
    assert by["malformed_row"]._extra_fields.notna().all()


def test_personas_differ_as_planted(sample):
    root, cfg, _ = sample
    truth = pd.read_parquet(root / "truth" / "customers.parquet")
    bad = pd.read_parquet(root / "truth" / "bad_rows.parquet")
    orders = _read(root, "orders")
    bad_keys = set(zip(bad.source_file, bad.source_row, strict=True))
    orders = orders[[(f, r) not in bad_keys for f, r in
                     zip(orders.file, orders.row, strict=True)]]
    orders = orders[orders._extra_fields.isna()].drop_duplicates("order_id")
    o = orders.merge(truth[["customer_id", "persona", "preferred_category"]], on="customer_id")
    per_persona = o.groupby("persona").agg(
        orders=("order_id", "size"), coupon=("coupon_code", lambda s: s.notna().mean()),
        basket=("revenue", lambda s: s.astype(float).mean()))
    per_persona["orders_per_customer"] = per_persona.orders / truth.persona.value_counts()
    ranked = per_persona.orders_per_customer.sort_values(ascending=False).index.tolist()
    assert ranked[0] == "loyal_high_value"
    assert per_persona.coupon.idxmax() == "bargain_hunter"
    assert per_persona.basket.idxmax() == "loyal_high_value"
    assert per_persona.basket.idxmin() == "bargain_hunter"
    # each persona's most-ordered category is its planted preference
    fav = o.groupby("persona").category.agg(lambda s: s.mode().iloc[0])
    for p in PERSONAS:
        assert fav[p.name] == p.category

    emails = _read(root, "email_events")
    emails = emails[~emails.email_event_id.str.contains("-bad", na=True)]
    e = emails.merge(truth[["customer_id", "persona", "is_privacy_proxy"]], on="customer_id")
    human = e[~e.user_agent.fillna("").str.endswith("(KHTML, like Gecko)")]
    sends = e[e.event_type == "delivered"].groupby("persona").size()
    opens = human[human.event_type == "open"].groupby("persona").size()
    open_rate = (opens / sends).sort_values()
    assert open_rate.index[0] == "disengaged" and open_rate.index[-1] == "loyal_high_value"
    # privacy-proxy users open (by machine) nearly every delivered email
    proxy = e[e.is_privacy_proxy]
    machine = proxy[(proxy.event_type == "open")
                    & proxy.user_agent.fillna("").str.endswith("(KHTML, like Gecko)")]
    assert len(machine) >= 0.95 * (proxy.event_type == "delivered").sum()


def test_churners_stop_ordering_and_anonymous_browsing_is_identified_later(sample):
    root, _, _ = sample
    truth = pd.read_parquet(root / "truth" / "customers.parquet")
    orders = _read(root, "orders")
    orders = orders[~orders.order_id.str.contains("-bad", na=True)]
    orders["ordered_ts"] = pd.to_datetime(orders.ordered_at, utc=True, format="ISO8601")
    o = orders.merge(truth[["customer_id", "churn_at"]], on="customer_id")
    churned = o[o.churn_at.notna()]
    late = churned[churned.ordered_ts > churned.churn_at.dt.tz_localize("UTC")]
    assert len(churned) > 100 and len(late) == 0
    # a constant hazard: of those alive when the year of data starts, churn_prob churn
    # within that year
    start = truth.signup_at.max().normalize() - pd.Timedelta(days=364)
    veterans = truth[truth.signup_at < start]
    within_year = (veterans.churn_at < start + pd.Timedelta(days=365)).mean()
    assert within_year == pytest.approx(sum(p.share * p.churn_prob for p in PERSONAS),
                                        abs=0.03)

    events = _read(root, "events")
    events = events[~events.event_id.str.contains("-bad", na=True)]
    anon = events[events.customer_id.isna()]
    identify = events[events.event_type == "identify"]
    assert len(identify) > 50
    # every identify links an anonymous id the truth assigns to that customer
    t = truth.set_index("anonymous_id").customer_id
    assert (identify.anonymous_id.map(t) == identify.customer_id).all()
    assert anon.anonymous_id.isin(identify.anonymous_id).mean() > 0.5


def test_summary_counts_match_the_files(sample):
    root, _, summary = sample
    saved = json.loads((root / "truth" / "summary.json").read_text())
    assert saved["rows"] == summary["rows"]
    for source in ("customers", "orders", "events", "email_events"):
        assert len(_read(root, source)) == summary["rows"][source]["rows"]
