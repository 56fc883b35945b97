"""Great Expectations on the staged data and the public marts (thin: the suites are
customer_segments.quality.suites, the runner customer_segments.quality.validate).

Returns one row per expectation; the dbt tests on this model fail the build on a failed
critical expectation and warn on a failed warning. Data Docs go to $CS_DATA_DOCS_DIR
(default target/data_docs).
"""

from customer_segments.config import data_docs_dir
from customer_segments.quality import suites, validate


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.config.get("meta") or {}  # literal call: dbt passes only what it sees
    relations = {
        "stg_shop__orders": dbt.ref("stg_shop__orders"),
        "stg_web__events": dbt.ref("stg_web__events"),
        "stg_esp__email_events": dbt.ref("stg_esp__email_events"),
        "stg_crm__customers": dbt.ref("stg_crm__customers"),
        "user_rfm": dbt.ref("user_rfm"),
        "user_engagement": dbt.ref("user_engagement"),
        "user_lifecycle": dbt.ref("user_lifecycle"),
        "user_preferences": dbt.ref("user_preferences"),
        "ml_user_churn": dbt.ref("ml_user_churn"),
        "ml_user_value": dbt.ref("ml_user_value"),
        "user_segments": dbt.ref("user_segments"),
    }
    sql = {name: rel.sql_query() for name, rel in relations.items()}
    reconciliation = dbt.ref("source_reconciliation").sql_query()
    customers = dbt.ref("int_customers_unified").sql_query()
    rfm_segments = dbt.ref("rfm_segments").sql_query()

    suite_settings = suites.SuiteSettings(
        # sorted: the value set is stored with the results, and a rebuild must store
        # the same text (DISTINCT has no order)
        rfm_segments=sorted(r[0] for r in session.sql(
            f"select distinct rfm_segment from ({rfm_segments})").fetchall()),
        rfm_score_buckets=int(settings["rfm_score_buckets"]),
        holdout_share=float(settings["holdout_share"]),
        max_quarantine_share=float(settings["quality_max_quarantine_share"]),
        max_source_lag_days=int(settings["quality_max_source_lag_days"]),
        dialect=getattr(session, "dialect", "duckdb"),
    )
    # the newest day of staged activity per source, from the daily volume series (a
    # few thousand rows) rather than a scan of every staged row (100M events: 14 s)
    volume = dbt.ref("source_volume_daily").sql_query()
    sql["source_facts"] = f"""
        with newest as (
            select source_name, max(activity_date) as newest_date
            from ({volume})
            where event_type = 'all'
            group by source_name
        )
        select
            r.source_name,
            coalesce(r.landed_rows, 0) as landed_rows,
            coalesce(r.accounted_rows, 0) as accounted_rows,
            coalesce(r.quarantined_rows, 0) / nullif(r.landed_rows, 0) as quarantined_share,
            n.newest_date,
            {validate.days_between(session, 'n.newest_date',
                                   'max(n.newest_date) over ()')}
                as days_behind_newest_source
        from ({reconciliation}) as r
        left join newest as n on r.source_name = n.source_name"""
    sql["segment_facts"] = f"""
        select
            (select count(*) from ({sql['user_segments']})) as user_segments_rows,
            -- customers known by the as-of date (a build as of a past date covers those)
            (select count(distinct customer_id) from ({customers})
             where first_seen_date <= (select max(as_of_date) from ({sql['user_segments']})))
                as known_customers,
            (select count(*) from ({sql['user_segments']}) where is_exportable)
                as exportable_rows"""

    # the staged feeds: only the rows staged since the newest whole build that passed
    # (it validated the earlier ones); the build log is beside this model's table
    build_log = f"{str(dbt.this).rsplit('.', 1)[0]}.dbt_invocations"
    since = validate.newest_passing_whole_build(session, build_log)
    max_rows = int(settings["quality_gx_max_rows"])
    frames, validated_since = {}, {}
    for suite in suites.all_suites(suite_settings):
        frame, total = validate.read_frame(session, sql[suite.name], suite, max_rows,
                                           since=since)
        frames[suite.name] = (frame, total, len(frame) < total)
        if since is not None and suite.changed:
            validated_since[suite.name] = since
    return validate.validate(frames, suites.all_suites(suite_settings),
                             docs_dir=data_docs_dir(), validated_since=validated_since)
