"""The Great Expectations suites, defined in code: what is checked on the staged data
and on the public marts.

A suite validates one relation. Each check names a GX expectation class, its
arguments, and a severity: a failed `critical` check fails the dbt build (and so
blocks the export), a failed `warning` is reported. Allowed labels come from the
same constants the rest of the project uses, so a new event type is added once.

PII never reaches a validator: a suite's `select` replaces personal columns with
facts about them (is the email present, is it well formed), so neither the results
table nor the Data Docs can show an address.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from customer_segments import contract
from customer_segments.ml.features import STAGES

CRITICAL = "critical"
WARNING = "warning"

ENGAGEMENT_TIERS = ("highly_engaged", "moderately_engaged", "low_engaged", "no_data")
CHURN_RISK_TIERS = ("high", "medium", "low")
CONSENT_STATUSES = ("consented", "no_consent", "unsubscribed", "hard_bounced", "complained")
SEND_TIME_SOURCES = ("own", "base", "none")  # none: no opens in the whole base
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


@dataclass(frozen=True)
class Check:
    expectation: str  # a class in great_expectations.expectations
    kwargs: dict
    severity: str = CRITICAL


@dataclass(frozen=True)
class Suite:
    name: str  # the relation validated (a dbt model, or a facts query)
    checks: tuple[Check, ...]
    key: str | None = "customer_id"  # sampling key: all rows of a sampled key are kept
    select: str = "*"  # the columns read (PII replaced by facts about it)
    description: str = ""
    sampled: bool = True  # facts frames are one row per source: never sampled
    # a column that says when a row last changed (_staged_at): given the time the newest
    # passing whole build finished, only the rows changed since are validated (the
    # earlier ones were validated by that build or an earlier one)
    changed: str | None = None

    def select_list(self) -> str:
        """The select list read from the relation: `select` as given, or, when it is
        `*`, just the key and the columns the checks name (the staged email events
        carry long URLs and user agents no check reads: at 100M events reading them
        made the sample scan several times slower)."""
        if self.select != "*":
            return self.select
        columns = [self.key] if self.key else []
        for check in self.checks:
            for arg in ("column", "column_A", "column_B"):
                name = check.kwargs.get(arg)
                if name and name not in columns:
                    columns.append(name)
        return ", ".join(columns) or "*"


def _not_null(*cols: str, severity: str = CRITICAL) -> list[Check]:
    return [Check("ExpectColumnValuesToNotBeNull", {"column": c}, severity) for c in cols]


def _unique(col: str) -> Check:
    return Check("ExpectColumnValuesToBeUnique", {"column": col})


def _in_set(col: str, values, severity: str = CRITICAL) -> Check:
    return Check("ExpectColumnValuesToBeInSet", {"column": col, "value_set": list(values)},
                 severity)


def _between(col: str, lo=None, hi=None, severity: str = CRITICAL) -> Check:
    kwargs = {"column": col}
    if lo is not None:
        kwargs["min_value"] = lo
    if hi is not None:
        kwargs["max_value"] = hi
    return Check("ExpectColumnValuesToBeBetween", kwargs, severity)


def _mean(col: str, lo, hi, severity: str = WARNING) -> Check:
    return Check("ExpectColumnMeanToBeBetween", {"column": col, "min_value": lo,
                                                  "max_value": hi}, severity)


def _stdev_at_least(col: str, lo, severity: str = WARNING) -> Check:
    return Check("ExpectColumnStdevToBeBetween", {"column": col, "min_value": lo}, severity)


@dataclass
class SuiteSettings:
    """Run-time values the suites need (from dbt vars and reference seeds)."""
    rfm_segments: list[str] = field(default_factory=list)
    rfm_score_buckets: int = 5
    holdout_share: float = 0.05
    max_quarantine_share: float = 0.05
    max_source_lag_days: int = 3
    dialect: str = "duckdb"  # or spark: the few SQL functions the engines spell apart


def regex_match_sql(column: str, pattern: str, dialect: str = "duckdb") -> str:
    """SQL that is true when column matches pattern (a Python regex string)."""
    if dialect == "spark":  # Spark string literals take backslash escapes
        return f"regexp_like({column}, '{pattern.replace(chr(92), chr(92) * 2)}')"
    return f"regexp_matches({column}, '{pattern}')"


def staged_suites(dialect: str = "duckdb") -> list[Suite]:
    return [
        Suite("stg_shop__orders", key="order_id", changed="_staged_at",
              description="Clean orders", checks=(
            *_not_null("order_id", "customer_id", "order_status", "ordered_at", "revenue"),
            _unique("order_id"),
            _in_set("order_status", contract.ORDER_STATUSES),
            _between("revenue", 0), _between("discount", 0), _between("item_count", 0),
            Check("ExpectColumnValuesToMatchRegex",
                  {"column": "currency_code", "regex": r"^[A-Z]{3}$"}, WARNING),
        )),
        Suite("stg_web__events", key="event_id", changed="_staged_at",
              description="Clean web/app events", checks=(
            *_not_null("event_id", "event_type", "event_at"),
            _unique("event_id"),
            _in_set("event_type", contract.EVENT_TYPES),
        )),
        Suite("stg_esp__email_events", key="email_event_id", changed="_staged_at",
              description="Clean email events", checks=(
                  *_not_null("email_event_id", "customer_id", "email_event_type", "event_at"),
                  _unique("email_event_id"),
                  _in_set("email_event_type", contract.EMAIL_EVENT_TYPES),
              )),
        Suite("stg_crm__customers", description="Clean CRM customers (PII as facts)",
              select="customer_id, email is not null as has_email, "
                     f"{regex_match_sql('email', EMAIL_PATTERN, dialect)} "
                     "as is_email_well_formed, "
                     "has_email_consent, country, signed_up_at, updated_at",
              checks=(
                  *_not_null("customer_id", "signed_up_at"),
                  _unique("customer_id"),
                  Check("ExpectColumnValuesToBeInSet",
                        {"column": "is_email_well_formed", "value_set": [True],
                         "mostly": 0.99}, WARNING),
                  Check("ExpectColumnValuesToMatchRegex",
                        {"column": "country", "regex": r"^[A-Z]{2}$", "mostly": 0.99},
                        WARNING),
              )),
    ]


def mart_suites(s: SuiteSettings) -> list[Suite]:
    b = s.rfm_score_buckets
    mid = (1 + b) / 2
    return [
        Suite("user_rfm", description="RFM scores and segments", checks=(
            *_not_null("customer_id", "as_of_date"), _unique("customer_id"),
            *[_between(c, 1, b) for c in ("r_score", "f_score", "m_score")],
            _in_set("rfm_segment", s.rfm_segments),
            _between("recency_days", 0), _between("frequency", 0), _between("monetary", 0),
            # quantile scores: the mean score of buyers sits near the middle bucket
            _mean("r_score", mid - 1, mid + 1), _mean("f_score", mid - 1.5, mid + 1.5),
        )),
        Suite("user_engagement", description="Email and site engagement", checks=(
            *_not_null("customer_id", "engagement_tier"), _unique("customer_id"),
            _in_set("engagement_tier", ENGAGEMENT_TIERS),
            *[_between(c, 0, 1) for c in ("open_rate", "click_rate", "click_to_open_rate")],
            _between("engagement_score", 0),
            _stdev_at_least("engagement_score", 1e-6),
        )),
        Suite("user_lifecycle", description="Lifecycle stage", checks=(
            *_not_null("customer_id", "lifecycle_stage", "stage_entered_date"),
            _unique("customer_id"), _in_set("lifecycle_stage", STAGES),
            _between("days_in_stage", 0),
        )),
        Suite("user_preferences", description="Favourite category and send time", checks=(
            _unique("customer_id"), _between("best_send_hour", 0, 23),
            _between("best_send_weekday", 0, 6), _in_set("send_time_source", SEND_TIME_SOURCES),
        )),
        Suite("ml_user_churn", description="Churn probability", checks=(
            *_not_null("customer_id", "churn_probability", "churn_risk_tier"),
            _unique("customer_id"), _between("churn_probability", 0, 1),
            _in_set("churn_risk_tier", CHURN_RISK_TIERS),
            # a collapsed model gives everyone the same score
            _stdev_at_least("churn_probability", 0.01),
            _mean("churn_probability", 0.01, 0.99),
        )),
        Suite("ml_user_value", description="Expected orders and revenue", checks=(
            *_not_null("customer_id", "expected_orders", "expected_revenue"),
            _unique("customer_id"), _between("expected_orders", 0),
            _between("expected_revenue", 0),
        )),
        Suite("user_segments", description="The one row per user the ESP sync reads",
              select="* except (email, first_name), email is not null as has_email",
              checks=(
                  *_not_null("customer_id", "consent_status", "cluster_name",
                             "lifecycle_stage", "rfm_segment", "export_hash", "as_of_date"),
                  _unique("customer_id"),
                  _in_set("consent_status", CONSENT_STATUSES),
                  _in_set("churn_risk_tier", CHURN_RISK_TIERS),
                  _between("churn_probability", 0, 1),
                  # only consented customers carry an email
                  Check("ExpectColumnPairValuesToBeInSet",
                        {"column_A": "consent_status", "column_B": "has_email",
                         "value_pairs_set": [["consented", True], ["consented", False],
                                             *[[c, False] for c in CONSENT_STATUSES
                                               if c != "consented"]]}),
                  _mean("is_holdout", s.holdout_share / 3, min(1.0, s.holdout_share * 3)),
              )),
    ]


def fact_suites(s: SuiteSettings) -> list[Suite]:
    """Whole-table facts computed in SQL (never sampled): row counts against the
    source, freshness of the newest activity per source."""
    return [
        Suite("source_facts", key=None, sampled=False,
              description="Per source: rows landed vs accounted, quarantine share, lag",
              checks=(
                  Check("ExpectColumnPairValuesToBeEqual",
                        {"column_A": "landed_rows", "column_B": "accounted_rows"}),
                  _between("quarantined_share", 0, s.max_quarantine_share, WARNING),
                  _between("days_behind_newest_source", 0, s.max_source_lag_days),
              )),
        Suite("segment_facts", key=None, sampled=False,
              description="user_segments against the customers it must cover",
              checks=(
                  Check("ExpectColumnPairValuesToBeEqual",
                        {"column_A": "user_segments_rows", "column_B": "known_customers"}),
                  _between("exportable_rows", 1, severity=WARNING),
              )),
    ]


def all_suites(s: SuiteSettings) -> list[Suite]:
    return [*staged_suites(s.dialect), *mart_suites(s), *fact_suites(s)]
