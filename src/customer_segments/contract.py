"""The landing-zone data contract: which files the project reads and their columns.

This module is the single source of truth for the raw layer. The landing step, the
generator, the transactions import and the README tables are all derived from it,
and a pytest check keeps the dbt sources YAML in step with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # logical type a value must parse to in staging
    required: bool
    description: str


@dataclass(frozen=True)
class SourceContract:
    name: str  # folder under the landing directory and raw table name
    dbt_source: str  # dbt source (system) name
    required: bool  # a missing required source stops the build
    key: str  # natural key
    description: str
    columns: tuple[Column, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


# Metadata columns the landing step adds to every raw row.
LANDING_METADATA = (
    Column("_source_file", "string", True, "Landing file the row came from (path as landed)."),
    Column("_source_row", "integer", True, "1-based row number within that file."),
    Column("_extra_fields", "string", False, "Values found beyond the header (malformed row)."),
    Column("_landed_at", "timestamp", True, "UTC time the landing step loaded the file."),
)

CUSTOMERS = SourceContract(
    name="customers",
    dbt_source="crm",
    required=False,
    key="customer_id",
    description="CRM customer records; a customer may appear in several files (latest wins).",
    columns=(
        Column("customer_id", "string", True, "CRM customer id."),
        Column("email", "string", False, "Email address (PII)."),
        Column("first_name", "string", False, "First name (PII)."),
        Column("signup_at", "timestamp", False, "Account creation time."),
        Column("country", "string", False, "ISO country code or name."),
        Column("city", "string", False, "City."),
        Column("birth_date", "date", False, "Date of birth (PII)."),
        Column("gender", "string", False, "Gender as recorded by the CRM."),
        Column("loyalty_tier", "string", False, "Loyalty programme tier."),
        Column("email_consent", "boolean", False,
               "Marketing email consent (true/false/1/0/yes/no)."),
        Column("email_consent_at", "timestamp", False, "When consent was given or last changed."),
        Column("unsubscribed_at", "timestamp", False, "When the customer unsubscribed."),
        Column("updated_at", "timestamp", False, "Record version time; latest wins on dedup."),
    ),
)

EVENTS = SourceContract(
    name="events",
    dbt_source="web",
    required=False,
    key="event_id",
    description="Web and app tracking events, anonymous or identified.",
    columns=(
        Column("event_id", "string", True, "Unique event id from the tracker."),
        Column("customer_id", "string", False, "Customer id when logged in, else empty."),
        Column("anonymous_id", "string", False, "Device/cookie id."),
        Column("event_type", "string", True, "page_view, product_view, add_to_cart, "
               "remove_from_cart, checkout_started, search, signup, login, identify."),
        Column("event_at", "timestamp", True, "Event time, ISO 8601 with zone offset."),
        Column("product_id", "string", False, "Product viewed or added."),
        Column("category", "string", False, "Product category."),
        Column("session_id", "string", False, "Tracker session id."),
    ),
)

ORDERS = SourceContract(
    name="orders",
    dbt_source="shop",
    required=True,
    key="order_id",
    description="Orders from the shop; a status change arrives as a new version of the row.",
    columns=(
        Column("order_id", "string", True, "Order id."),
        Column("customer_id", "string", True, "Customer id (empty for guest checkout)."),
        Column("ordered_at", "timestamp", True, "Order time, ISO 8601 (zone offset or UTC)."),
        Column("status", "string", False, "completed, cancelled or refunded (default completed)."),
        Column("revenue", "decimal", True, "Order value after discount, in currency units."),
        Column("discount", "decimal", False, "Discount amount."),
        Column("coupon_code", "string", False, "Coupon used, if any."),
        Column("item_count", "integer", False, "Number of items."),
        Column("category", "string", False, "Main product category of the order."),
        Column("currency", "string", False, "ISO currency code."),
        Column("updated_at", "timestamp", False, "Version time of this row; latest wins on dedup."),
    ),
)

EMAIL_EVENTS = SourceContract(
    name="email_events",
    dbt_source="esp",
    required=False,
    key="email_event_id",
    description="Email service provider events: sends, deliveries, opens, clicks, ...",
    columns=(
        Column("email_event_id", "string", True, "Unique ESP event id."),
        Column("message_id", "string", False, "Id of the email message (one per send)."),
        Column("campaign_id", "string", False, "Campaign id."),
        Column("customer_id", "string", True, "Recipient customer id."),
        Column("event_type", "string", True, "sent, delivered, open, click, bounce, "
               "unsubscribe, spam_complaint."),
        Column("event_at", "timestamp", True, "Event time, ISO 8601 with zone offset."),
        Column("link_url", "string", False, "Clicked link."),
        Column("user_agent", "string", False, "User agent of the open/click (machine opens)."),
        Column("bounce_type", "string", False, "hard or soft, for bounces."),
    ),
)

SOURCES: dict[str, SourceContract] = {
    s.name: s for s in (CUSTOMERS, EVENTS, ORDERS, EMAIL_EVENTS)
}

EVENT_TYPES = (
    "page_view", "product_view", "add_to_cart", "remove_from_cart", "checkout_started",
    "search", "signup", "login", "identify",
)
EMAIL_EVENT_TYPES = (
    "sent", "delivered", "open", "click", "bounce", "unsubscribe", "spam_complaint",
)
ORDER_STATUSES = ("completed", "cancelled", "refunded")

# Reason codes a staging model may give a quarantined row (documented in the README).
REASON_CODES = {  # in the order staging checks them: a row gets the first that fails
    "malformed_row": "The row had more fields than the header of its file.",
    "missing_required_field": "A required column is empty for this row.",
    "missing_customer_id": "Order or email event without a customer (e.g. guest checkout).",
    "missing_identity": "Event with neither customer_id nor anonymous_id.",
    "unparseable_timestamp": "A timestamp (or date) that cannot be parsed.",
    "future_timestamp": "A timestamp later than the landing time of its file plus the tolerance.",
    "non_numeric_amount": "Revenue, discount or item count that is not a number.",
    "negative_amount": "Negative revenue, discount or item count.",
    "unknown_event_type": "Event type not in the documented list.",
    "unknown_status": "Order status not in completed/cancelled/refunded.",
    "invalid_boolean": "A consent flag that is not true/false/1/0/yes/no.",
    "non_positive_amount": "A completed order with zero revenue.",
    "unknown_customer_id": "customer_id not found in the CRM customers (when CRM is landed).",
    "duplicate_id_conflict": "Same natural key and version as an earlier row, other content.",
}

# Personal data: the one list of PII columns (as named in any model) and the relations
# allowed to carry them. A test reads the warehouse catalogue and fails if any other
# table or view has one of these columns; the export state keeps only hashes.
PII_COLUMNS: dict[str, str] = {
    "email": "Email address (CRM).",
    "first_name": "First name (CRM).",
    "birth_date": "Date of birth (CRM).",
    "crm_email": "The CRM email inside user_segments, before consent filtering.",
    "crm_first_name": "The CRM first name inside user_segments, before consent filtering.",
}
PII_ALLOWED_RELATIONS: dict[tuple[str, str], str] = {
    ("raw", "customers"): "the landed CRM file, as delivered",
    ("raw", "_customers_rows"): "the landed CRM rows behind raw.customers (CSV files)",
    ("staging", "base_crm__customers"): "typing and validation of the CRM rows",
    ("staging", "stg_crm__customers"): "the clean CRM customers",
    ("activation", "user_segments"): "the ESP sync needs email and name (consented only)",
}
