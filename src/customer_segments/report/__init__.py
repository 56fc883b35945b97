"""A self-contained static HTML report of the segments, read from the warehouse."""

from .build import ReportResult, build_report

__all__ = ["ReportResult", "build_report"]
