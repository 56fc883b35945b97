"""The segment report: one static HTML file, readable offline, from the built warehouse.

It reads aggregates and non-personal marts only (segment_summary, user_rfm,
ml_cluster_profiles, user_segment_history, ...), never user_segments or the CRM: no
email address or name can end up in a file that gets mailed around.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from html import escape
from pathlib import Path

import duckdb

from . import svg

STAGES = ("new", "active", "loyal", "at_risk", "lapsed", "churned", "unsubscribed")
TIERS = ("highly_engaged", "moderately_engaged", "low_engaged", "no_data")
# cluster profile columns: (column, heading with unit, format)
PROFILE = (
    ("avg_orders_per_year", "orders / year", "{:.1f}"),
    ("avg_order_value", "order value", "{:,.0f}"),
    ("avg_coupon_order_share", "coupon orders %", "pct"),
    ("avg_open_rate_365d", "open rate %", "pct"),
    ("avg_click_rate_365d", "click rate %", "pct"),
    ("avg_visit_days_365d", "visit days / yr", "{:.1f}"),
    ("avg_recency_days", "days since order", "{:.0f}"),
    ("avg_engagement_score", "engagement score", "{:.1f}"),
)


@dataclass
class ReportResult:
    path: Path
    charts: list[str] = field(default_factory=list)  # ids of the charts drawn
    empty: dict[str, str] = field(default_factory=dict)  # chart id -> why it is empty


class _Report:
    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.result_charts: list[str] = []
        self.result_empty: dict[str, str] = {}

    def rows(self, sql: str, params: list | None = None) -> list[tuple]:
        return self.con.execute(sql, params or []).fetchall()

    def has(self, relation: str) -> bool:
        schema, name = relation.split(".")
        return bool(self.rows("select count(*) from information_schema.tables "
                              "where table_schema = ? and table_name = ?", [schema, name])[0][0])

    def chart(self, html: str, chart_id: str) -> str:
        self.result_charts.append(chart_id)
        return html

    def empty(self, chart_id: str, title: str, why: str) -> str:
        self.result_empty[chart_id] = why
        return svg.empty(chart_id, title, why)


def _pct(v: float | None) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.1f}%"


def _fmt(v, how: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return _pct(v) if how == "pct" else how.format(v)


def _label(value: str) -> str:
    return str(value).replace("_", " ")


def segments_section(r: _Report) -> str:
    out = []
    for seg_type, title, reading in (
        ("cluster", "Clusters: share of customers and of revenue",
         "A cluster whose revenue bar is longer than its customer bar earns more than its "
         "head count; a shorter one, less."),
        ("rfm", "RFM segments: share of customers and of revenue",
         "Champions and loyal customers usually carry a revenue share far above their "
         "share of customers; that gap is what retention protects."),
    ):
        chart_id = f"segments-{seg_type}"
        data = r.rows("""select segment_value, customer_share, revenue_share
                         from activation.segment_summary where segment_type = ?
                         order by customer_share desc, segment_value""", [seg_type])
        if not data:
            out.append(r.empty(chart_id, title, f"no {seg_type} segments in segment_summary"))
            continue
        out.append(r.chart(svg.hbar(
            chart_id, title, [_label(d[0]) for d in data],
            {"customers (%)": [100 * (d[1] or 0) for d in data],
             "revenue (%)": [100 * (d[2] or 0) for d in data]},
            x_label="share of all customers / of all revenue (%)", y_label="segment",
            reading=reading, fmt=lambda v: f"{v:.1f}%"), chart_id))
    return "".join(out)


def rfm_section(r: _Report) -> str:
    chart_id, title = "rfm-grid", "RFM grid: customers by recency and frequency score"
    data = r.rows("""select r_score, f_score, count(*), avg(monetary)
                     from marts.user_rfm where r_score is not null and f_score is not null
                     group by 1, 2""")
    if not data:
        return r.empty(chart_id, title, "no customer with orders yet")
    rs = sorted({d[0] for d in data}, reverse=True)
    fs = sorted({d[1] for d in data})
    cell = {(d[0], d[1]): d for d in data}
    values = [[cell[(rr, ff)][2] if (rr, ff) in cell else None for ff in fs] for rr in rs]
    labels = [[(f"{cell[(rr, ff)][2]:,} · {cell[(rr, ff)][3] or 0:,.0f}"
                if (rr, ff) in cell else "") for ff in fs] for rr in rs]
    return r.chart(svg.heatmap(
        chart_id, title, [f"R{x}" for x in rs], [f"F{x}" for x in fs], values, labels=labels,
        x_label="frequency score (1 = fewest orders, 5 = most)",
        y_label="recency score (5 = most recent)", cell_w=92, left=120,
        reading="Each cell: customers · average net revenue per customer (currency units). "
                "Top right (R5 F5) are the best customers; the dark cells at the bottom are "
                "the at-risk and lapsed ones."), chart_id)


def cluster_section(r: _Report) -> str:
    chart_id, title = "cluster-profiles", "Cluster profiles: what sets each cluster apart"
    cols = ", ".join(c for c, _, _ in PROFILE)
    data = r.rows(f"select cluster_name, customers, {cols} from marts.ml_cluster_profiles "
                  "order by customers desc")
    if not data:
        return r.empty(chart_id, title, "no clusters (the clustering fit was not run or "
                                        "fell back to rules)")
    total = sum(d[1] or 0 for d in data) or 1
    means = []
    for j in range(len(PROFILE)):
        vals = [(d[2 + j], d[1] or 0) for d in data if d[2 + j] is not None]
        weight = sum(w for _, w in vals)
        means.append(sum(v * w for v, w in vals) / weight if weight else None)
    rows = [f"{_label(d[0])} ({100 * (d[1] or 0) / total:.0f}%)" for d in data]
    labels, colours = [], []
    for d in data:
        labels.append([_fmt(d[2 + j], PROFILE[j][2]) for j in range(len(PROFILE))])
        colours.append([svg.diverging((d[2 + j] / means[j]) if d[2 + j] is not None
                                      and means[j] else 1.0) for j in range(len(PROFILE))])
    return r.chart(svg.heatmap(
        chart_id, title, rows, [h for _, h, _ in PROFILE], [[None] * len(PROFILE)] * len(rows),
        labels=labels, colours=colours, cell_w=104, left=200,
        x_label="feature (original units; order value in currency units, rates in %)",
        y_label="cluster (share of customers)",
        reading="Cells show each cluster's average in original units; orange is above the "
                "all-customer average, blue below, the deeper the further (x2 or /2 is the "
                "deepest)."), chart_id)


def lifecycle_section(r: _Report, from_date: date | None, to_date: date | None) -> str:
    title = "Lifecycle flow: where customers moved between two dates"
    dates = [d[0] for d in r.rows("select distinct as_of_date from "
                                  "activation.user_segment_history order by 1")]
    to_date = to_date or (dates[-1] if dates else None)
    earlier = [d for d in dates if to_date and d < to_date]
    from_date = from_date or (earlier[-1] if earlier else None)
    out = []
    if from_date is None or to_date is None or from_date not in dates or to_date not in dates:
        why = (f"needs two snapshots in user_segment_history; it has {len(dates)} "
               f"({', '.join(map(str, dates)) or 'none'}). Each build on a new as-of date "
               "adds one.")
        out.append(r.empty("lifecycle-flow", title, why))
    else:
        data = r.rows("""
            with a as (select customer_id, lifecycle_stage from activation.user_segment_history
                       where as_of_date = ?),
                 b as (select customer_id, lifecycle_stage from activation.user_segment_history
                       where as_of_date = ?)
            select coalesce(a.lifecycle_stage, '(not yet a customer)'),
                   coalesce(b.lifecycle_stage, '(gone)'), count(*)
            from a full outer join b on a.customer_id = b.customer_id
            group by 1, 2""", [from_date, to_date])
        froms = [s for s in (*STAGES, "(not yet a customer)") if any(d[0] == s for d in data)]
        tos = [s for s in (*STAGES, "(gone)") if any(d[1] == s for d in data)]
        cell = {(d[0], d[1]): d[2] for d in data}
        values = [[cell.get((f, t)) for t in tos] for f in froms]
        out.append(r.chart(svg.heatmap(
            "lifecycle-flow", f"{title} ({from_date} to {to_date})",
            [_label(f) for f in froms], [_label(t) for t in tos], values,
            x_label=f"stage on {to_date} (customers)", y_label=f"stage on {from_date}",
            cell_w=88, left=170,
            reading="Each cell counts customers who were in the row's stage on the first date "
                    "and the column's stage on the second; off the diagonal is movement."),
            "lifecycle-flow"))
    chart_id = "lifecycle-events"
    events_title = "Lifecycle entries and exits per stage"
    if to_date is None:
        out.append(r.empty(chart_id, events_title, "no segment history yet"))
        return "".join(out)
    lower = from_date or date.min
    ev = r.rows("""select segment_value, event_type, count(*)
                   from activation.user_segment_events
                   where segment_type = 'lifecycle' and event_date > ? and event_date <= ?
                   group by 1, 2""", [lower, to_date])
    if not ev:
        out.append(r.empty(chart_id, events_title, "no lifecycle entries or exits in the "
                                                   "period"))
        return "".join(out)
    counts = {(e[0], e[1]): e[2] for e in ev}
    stages = [s for s in STAGES if any(e[0] == s for e in ev)]
    period = f"after {from_date} up to {to_date}" if from_date else f"up to {to_date}"
    out.append(r.chart(svg.hbar(
        chart_id, f"{events_title} ({period})", [_label(s) for s in stages],
        {"entered": [counts.get((s, "entered"), 0) for s in stages],
         "exited": [counts.get((s, "exited"), 0) for s in stages]},
        x_label="customers", y_label="lifecycle stage",
        reading="A stage that gains more than it loses is growing; exits from loyal and "
                "active are the ones a win-back campaign should catch."), chart_id))
    return "".join(out)


def _active_churn_metrics(r: _Report) -> tuple[dict | None, str]:
    if not r.has("ml.ml_user_churn"):
        return None, "churn scores not built"
    run = r.rows("select distinct model_run_id, bool_or(is_rule_based) "
                 "from ml.ml_user_churn group by 1")
    if len(run) != 1:
        return None, "no single churn model scores the customers"
    if run[0][1]:
        return None, "churn is rule-based this run (too little data to fit a model)"
    metrics = r.rows("select metrics from marts.ml_model_runs where run_id = ?", [run[0][0]])
    if not metrics:
        return None, f"run {run[0][0]} is not in ml_model_runs"
    return json.loads(metrics[0][0]), run[0][0]


def churn_section(r: _Report) -> str:
    metrics, run_id = _active_churn_metrics(r)
    out = []
    cal_title = "Churn calibration: predicted against observed churn"
    lift_title = "Churn lift: how much riskier the top-ranked customers are"
    if metrics is None:
        return r.empty("churn-calibration", cal_title, run_id) + \
            r.empty("churn-lift", lift_title, run_id)
    window = metrics.get("data_window", "")
    curve = metrics.get("calibration_curve")
    if curve:
        out.append(r.chart(svg.lines(
            "churn-calibration", cal_title,
            {"model (tenths of customers)": [(c["mean_predicted"] * 100, c["observed_rate"] * 100)
                                             for c in curve]},
            x_label="predicted churn probability (%)", y_label="customers who churned (%)",
            x_max=100, y_max=100, diagonal=True, x_fmt=lambda v: f"{v:.0f}",
            y_fmt=lambda v: f"{v:.0f}",
            reading=f"On the dashed diagonal, a predicted 30% means 30% churned. Temporal "
                    f"holdout of run {run_id} ({window}); calibration error "
                    f"{_pct(metrics.get('calibration_error'))}."), "churn-calibration"))
    else:
        out.append(r.empty("churn-calibration", cal_title,
                           f"run {run_id} recorded no calibration curve (fitted before "
                           "curves were recorded; the next refit records one)"))
    lift = metrics.get("lift_curve")
    if lift:
        out.append(r.chart(svg.lines(
            "churn-lift", lift_title,
            {"cumulative lift": [(c["cumulative_share"] * 100, c["cumulative_lift"])
                                 for c in lift if c.get("cumulative_lift") is not None]},
            x_label="customers targeted, highest risk first (%)",
            y_label="churn rate / average churn rate (x)", x_max=100, baseline=1.0,
            x_fmt=lambda v: f"{v:.0f}", y_fmt=lambda v: f"{v:.2f}",
            reading=f"At 20% targeted the lift is {metrics.get('lift_top_20', 0):.2f}x: that "
                    "many times the average churn rate; the dashed line (1x) is random "
                    "targeting."), "churn-lift"))
    else:
        out.append(r.empty("churn-lift", lift_title, f"run {run_id} recorded no lift curve"))
    return "".join(out)


def engagement_section(r: _Report) -> str:
    chart_id = "engagement-send-hour"
    title = "Engagement tier by best send hour"
    data = r.rows("""select p.best_send_hour, e.engagement_tier, count(*)
                     from marts.user_engagement as e
                     inner join marts.user_preferences as p using (customer_id)
                     where p.best_send_hour is not null
                     group by 1, 2""")
    missing = r.rows("select count(*) from marts.user_preferences "
                     "where best_send_hour is null")[0][0]
    if not data:
        return r.empty(chart_id, title, "no customer has a best send hour yet")
    cell = {(d[0], d[1]): d[2] for d in data}
    tiers = [t for t in TIERS if any(d[1] == t for d in data)] + sorted(
        {d[1] for d in data} - set(TIERS))
    hours = list(range(24))
    return r.chart(svg.vbar_stacked(
        chart_id, title, [f"{h:02d}" for h in hours],
        {_label(t): [cell.get((h, t), 0) for h in hours] for t in tiers},
        x_label="best send hour (UTC, 00-23)", y_label="customers",
        reading="Where the highly engaged cluster is when to send the most important "
                f"campaign; {missing:,} customers without a best hour are left out."), chart_id)


def quality_section(r: _Report) -> str:
    out = []
    chart_id, title = "quality-expectations", "Data quality: latest expectations per suite"
    if r.has("quality.expectation_results"):
        data = r.rows("""select suite_name, count(*) filter (where success),
                                count(*) filter (where not success and severity = 'critical'),
                                count(*) filter (where not success and severity != 'critical')
                         from quality.expectation_results group by 1 order by 1""")
    else:
        data = []
    if data:
        out.append(r.chart(svg.hbar(
            chart_id, title, [d[0] for d in data],
            {"passed": [d[1] for d in data], "failed, critical": [d[2] for d in data],
             "failed, warning": [d[3] for d in data]},
            x_label="expectations (count)", y_label="suite (relation validated)",
            reading="Any critical failure stops the build and the export; warnings are worth "
                    "a look. Details: GX Data Docs (target/data_docs/index.html)."), chart_id))
        failed = r.rows("""select suite_name, expectation_type, coalesce(column_name, ''),
                                  severity, coalesce(observed_value, '')
                           from quality.expectation_results where not success
                           order by severity, suite_name limit 50""")
        if failed:
            rows = "".join(f"<tr><td>{escape(a)}</td><td>{escape(b)}</td><td>{escape(c)}</td>"
                           f"<td>{escape(d)}</td><td>{escape(e)}</td></tr>"
                           for a, b, c, d, e in failed)
            out.append('<table class="data"><caption>Failed expectations</caption><tr>'
                       '<th>suite</th><th>expectation</th><th>column</th><th>severity</th>'
                       f'<th>observed</th></tr>{rows}</table>')
        else:
            out.append('<p class="ok">Every expectation passed.</p>')
    else:
        out.append(r.empty(chart_id, title, "no expectation results (quality models not built)"))
    chart_id = "quality-freshness"
    title = "Freshness: days from each feed's newest row to the as-of date"
    fresh = r.rows("""select source_name, max(activity_date) as newest
                      from quality.source_volume_daily group by 1 order by 1""") \
        if r.has("quality.source_volume_daily") else []
    as_of = r.rows("select max(as_of_date) from marts.user_rfm")[0][0] \
        if r.has("marts.user_rfm") else None
    if fresh and as_of:
        lag = [max(0, (as_of - d[1]).days) for d in fresh]
        out.append(r.chart(svg.hbar(
            chart_id, title, [d[0] for d in fresh], {"days behind": lag},
            x_label=f"days between the feed's newest row and the as-of date {as_of}",
            y_label="source", x_max=max(7, svg.nice_max(max(lag, default=0))),
            reading="0 means the feed reached the as-of date; a feed days behind makes its "
                    "features stale (source freshness warns at 24 h, errors at 72 h)."),
            chart_id))
        if r.has("quality.volume_checks"):
            checks = r.rows("select check_status, count(*) from quality.volume_checks "
                            "group by 1 order by 1")
            out.append('<p class="note">Volume checks: ' + ", ".join(
                f"{escape(s)} {n}" for s, n in checks) + ".</p>")
    else:
        out.append(r.empty(chart_id, title, "no source volumes (quality models not built)"))
    return "".join(out)


def runs_section(r: _Report) -> str:
    chart_id, title = "model-runs", "Model runs: churn quality over the fits"
    if not r.has("marts.ml_model_runs"):
        return r.empty(chart_id, title, "no model runs recorded")
    runs = r.rows("""select fitted_at, model_name, status, training_rows, k, silhouette,
                            roc_auc, calibration_error, value_revenue_error, as_of_date, reason
                     from marts.ml_model_runs order by fitted_at, model_name""")
    churn = [x for x in runs if x[1] == "churn" and x[6] is not None]
    out = []
    if churn:
        out.append(r.chart(svg.lines(
            chart_id, title,
            {"ROC-AUC": [(i + 1, x[6]) for i, x in enumerate(churn)],
             "calibration error": [(i + 1, x[7]) for i, x in enumerate(churn)]},
            x_label="churn fit (1 = oldest)", y_label="score (0 to 1)", y_max=1.0,
            x_max=max(2, len(churn)), x_fmt=lambda v: f"{v:.0f}", y_fmt=lambda v: f"{v:.1f}",
            reading="ROC-AUC should stay well above the gate (0.65) and calibration error "
                    "near 0; a sudden move means the data or the code changed."), chart_id))
    else:
        out.append(r.empty(chart_id, title, "no evaluated churn fit yet"))
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(v)}</td>" for v in (
            str(x[0])[:19], x[1], x[2], f"{x[3]:,}" if x[3] is not None else "-",
            "-" if x[4] is None else str(x[4]), _fmt(x[5], "{:.3f}"), _fmt(x[6], "{:.3f}"),
            _fmt(x[7], "{:.3f}"), _fmt(x[8], "{:+.3f}"), str(x[9]), (x[10] or "")[:120]))
        + "</tr>" for x in reversed(runs[-40:]))
    out.append('<table class="data"><caption>Fits, newest first (last 40)</caption><tr>'
               "<th>fitted at (UTC)</th><th>model</th><th>status</th><th>training rows</th>"
               "<th>k</th><th>silhouette</th><th>ROC-AUC</th><th>calibration error</th>"
               f"<th>revenue error</th><th>as of</th><th>reason</th></tr>{body}</table>")
    return "".join(out)


def header(r: _Report) -> str:
    facts = []
    if r.has("activation.segment_summary"):
        row = r.rows("""select sum(customers), sum(exportable_customers),
                               sum(holdout_customers), sum(monetary), max(as_of_date)
                        from activation.segment_summary where segment_type = 'lifecycle'""")[0]
        facts = [("customers", f"{row[0] or 0:,.0f}"), ("exportable", f"{row[1] or 0:,.0f}"),
                 ("holdout", f"{row[2] or 0:,.0f}"), ("net revenue", f"{row[3] or 0:,.0f}"),
                 ("as of", str(row[4]))]
    if r.has("quality.dbt_invocations"):
        last = r.rows("""select finished_at, invocation_status from quality.dbt_invocations
                         where command = 'build' order by started_at desc limit 1""")
        if last:
            facts.append(("last build", f"{str(last[0][0])[:16]} UTC, {last[0][1]}"))
    return '<div class="facts">' + "".join(
        f'<div><span>{escape(k)}</span><b>{escape(v)}</b></div>' for k, v in facts) + "</div>"


CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#222;
background:#fafafa}main{max-width:1100px;margin:0 auto;padding:24px}
h1{margin:0 0 4px}h2{margin-top:40px;border-bottom:2px solid #ddd;padding-bottom:4px}
h3{margin:0 0 8px;font-size:15px}.sub{color:#666;margin:0 0 16px}
figure.chart{background:#fff;border:1px solid #e2e2e2;border-radius:6px;padding:14px;
margin:16px 0;overflow-x:auto}figcaption{color:#555;font-size:13px;margin-top:6px}
.facts{display:flex;flex-wrap:wrap;gap:12px}.facts div{background:#fff;border:1px solid #e2e2e2;
border-radius:6px;padding:8px 14px}.facts span{display:block;color:#666;font-size:12px}
.facts b{font-size:18px}table.data{border-collapse:collapse;background:#fff;font-size:12px;
margin:12px 0;width:100%}table.data caption{text-align:left;font-weight:bold;padding:4px 0}
table.data th,table.data td{border:1px solid #e2e2e2;padding:3px 6px;text-align:left}
.note{color:#666;font-size:13px}.ok{color:#2e7d32}figure.empty{border-style:dashed}
nav a{margin-right:12px}
"""


def build_report(db_path: Path | str, out_path: Path | str, *, from_date: date | None = None,
                 to_date: date | None = None) -> ReportResult:
    """Write the report; return which charts were drawn and which were empty (and why)."""
    out_path = Path(out_path)
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        r = _Report(con)
        if not r.has("activation.segment_summary"):
            raise SystemExit(f"{db_path} has no activation.segment_summary: run `make build` "
                             "(dbt build) first")
        sections = [
            ("segments", "Segments", segments_section(r)),
            ("rfm", "RFM", rfm_section(r)),
            ("clusters", "Clusters", cluster_section(r)),
            ("lifecycle", "Lifecycle", lifecycle_section(r, from_date, to_date)),
            ("churn", "Churn model", churn_section(r)),
            ("engagement", "Engagement", engagement_section(r)),
            ("quality", "Data quality", quality_section(r)),
            ("runs", "Model runs", runs_section(r)),
        ]
        top = header(r)
    finally:
        con.close()
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    nav = "".join(f'<a href="#{sid}">{escape(name)}</a>' for sid, name, _ in sections)
    body = "".join(f'<section id="{sid}"><h2>{escape(name)}</h2>{html}</section>'
                   for sid, name, html in sections)
    page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>Customer segments report</title><style>{CSS}</style></head><body><main>'
            f'<h1>Customer segments</h1><p class="sub">Generated {generated} from '
            f'{escape(Path(db_path).name)}. Amounts are in the data\'s currency.</p>'
            f'{top}<nav>{nav}</nav>{body}</main></body></html>')
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(page, encoding="utf-8")
    return ReportResult(out_path, r.result_charts, r.result_empty)
