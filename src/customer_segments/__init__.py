"""customer-segments: raw customer data to email segments, SQL first (dbt + DuckDB)."""

__version__ = "0.1.0"
