"""The dbt sources, the seed and the README stay in step with the contract module."""

import csv

import yaml

from customer_segments.contract import LANDING_METADATA, REASON_CODES, SOURCES

from .conftest import PROJECT


def test_sources_yaml_match_contract():
    for src in SOURCES.values():
        doc = yaml.safe_load((PROJECT / "models" / "staging" / src.dbt_source /
                              f"_{src.dbt_source}__sources.yml").read_text())
        (source,) = doc["sources"]
        (table,) = source["tables"]
        assert table["name"] == src.name
        assert source["loaded_at_field"] == "_landed_at"
        assert "freshness" in source
        names = [c["name"] for c in table["columns"]]
        assert names == src.column_names + [c.name for c in LANDING_METADATA]


def test_reason_code_seed_matches_contract_in_check_order():
    with open(PROJECT / "seeds" / "reason_codes.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["reason_code"] for r in rows] == list(REASON_CODES)
    assert [int(r["priority"]) for r in rows] == list(range(1, len(REASON_CODES) + 1))


def test_readme_documents_every_contract_column_and_reason():
    readme = (PROJECT / "README.md").read_text()
    for src in SOURCES.values():
        for col in src.column_names:
            assert f"`{col}`" in readme, f"README lacks {src.name}.{col}"
    for code in REASON_CODES:
        assert f"`{code}`" in readme, f"README lacks reason code {code}"
