"""The transactions import, end to end on the real UCI Online Retail files: the facts in
shared/data/online_retail/README.md come out of the project."""

from __future__ import annotations

from decimal import Decimal

import pytest

from customer_segments.importer import ImportError_, Mapping, import_transactions, load_mapping

from .conftest import PROJECT, RETAIL_DIR, build_landing

pytestmark = [pytest.mark.retail, pytest.mark.dbt]

if not RETAIL_DIR.is_dir():  # pragma: no cover - CI and developers have shared/ beside
    raise RuntimeError(f"Online Retail data not found at {RETAIL_DIR}")


@pytest.fixture(scope="module")
def retail(tmp_path_factory):
    root = tmp_path_factory.mktemp("retail")
    mapping = load_mapping(PROJECT / "mappings" / "online_retail.yml")
    report = import_transactions(str(RETAIL_DIR / "*.csv"), mapping, root / "landing",
                                 name="online_retail")
    return report, build_landing(root, root / "landing")


def test_import_reads_every_line_and_counts_the_readme_facts(retail):
    report, _ = retail
    assert report["files_read"] == 305
    assert report["line_items_read"] == 541_909
    assert report["distinct_customer_ids"] == 4_372
    assert report["guest_line_items"] == 135_080
    assert report["cancellation_line_items"] == 9_288
    assert report["orders_written"] == 25_900  # invoices
    assert report["orders_with_several_customers"] == 0


def test_staged_orders_match_the_usual_cleaning(retail):
    _, build = retail
    invoices, customers, revenue = build.query("""
        select count(*), count(distinct customer_id), sum(revenue)
        from staging.stg_shop__orders where order_status = 'completed'""")[0]
    assert invoices == 18_532
    assert customers == 4_338
    assert revenue == Decimal("8911407.90")


def test_guests_and_cancellations_are_accounted_for_not_lost(retail):
    _, build = retail
    raw, staged, quarantined = build.query("""
        select raw_rows, staged_rows, quarantined_rows
        from quality.source_reconciliation where source_name = 'orders'""")[0]
    assert raw == 25_900 and raw == staged + quarantined
    reasons = dict(build.query("select reason_code, count(*) from quality.quarantined_rows "
                               "group by 1"))
    assert reasons == {"missing_customer_id": 3_710, "non_positive_amount": 4}
    cancelled = build.scalar("select count(*) from staging.stg_shop__orders "
                             "where order_status = 'cancelled'")
    guest_cancelled = build.scalar("""
        select count(*) from quality.quarantined_rows
        where natural_key like 'C%' and reason_code = 'missing_customer_id'""")
    assert cancelled + guest_cancelled == 3_836  # every C-invoice
    every_customer = build.scalar("""
        select count(distinct customer_id) from (
            select customer_id from staging.stg_shop__orders
            union all
            select json_extract_string(raw_record, '$.customer_id')
            from quality.quarantined_rows
        ) where customer_id is not null""")
    assert every_customer == 4_372


def test_uk_local_time_becomes_utc(retail):
    _, build = retail
    # 2011-06-01 is British Summer Time: 12:05 local is 11:05 UTC
    row = build.query("select ordered_at from staging.stg_shop__orders "
                      "where order_id = '555200'")
    assert str(row[0][0]) == "2011-06-01 11:05:00"
    winter = build.query("select ordered_at from staging.stg_shop__orders "
                         "where order_id = '536365'")
    assert str(winter[0][0]) == "2010-12-01 08:26:00"


def test_mapping_errors_are_clear(tmp_path):
    bad = tmp_path / "m.yml"
    bad.write_text("columns: {order_id: a}\n")
    with pytest.raises(ImportError_, match="mapping needs columns.customer_id"):
        load_mapping(bad)
    m = Mapping(order_id="InvoiceNo", customer_id="Customer", ordered_at="InvoiceDate",
                amount="Total")
    with pytest.raises(ImportError_, match="not in the files: Customer, Total"):
        import_transactions(str(RETAIL_DIR / "2010-12-01.csv"), m, tmp_path / "out")


def test_marts_on_orders_only_data_fill_rfm_and_lifecycle_and_flag_engagement(retail):
    _, build = retail
    n, rfm_null, stage_null, tiers, has_email = build.query("""
        select count(*), count(*) - count(rfm_segment), count(*) - count(lifecycle_stage),
               list(distinct engagement_tier), bool_or(has_email_data)
        from marts.user_features""")[0]
    assert n == 4_371  # every customer with a staged order (one had only a zero order)
    assert rfm_null == 0 and stage_null == 0
    assert tiers == ["no_data"] and has_email is False
    assert build.scalar("select count(*) from marts.user_features "
                        "where open_rate is not null or opens_90d is not null") == 0
    assert build.scalar("select max(as_of_date) from marts.user_features") == \
        __import__("datetime").date(2011, 12, 9)
    champions = build.scalar("select count(*) from marts.user_rfm "
                             "where rfm_segment = 'champions'")
    assert champions > 200


def test_churn_and_value_train_on_a_time_split_and_are_recorded(retail):
    _, build = retail
    runs = {m: (s, auc, err, rows) for m, s, auc, err, rows in build.query("""
        select model_name, status, roc_auc, value_revenue_error, training_rows
        from marts.ml_model_runs""")}
    print(runs)
    assert runs["churn"][0] in ("accepted", "rejected") and runs["churn"][1] > 0.6
    assert runs["value"][0] in ("accepted", "rejected") and runs["value"][2] is not None
    assert runs["churn"][3] > 3_000
    assert build.scalar("select count(*) from ml.ml_user_churn") == 4_371
