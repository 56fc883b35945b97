"""Data quality: Great Expectations suites defined in code, and the export gates."""
