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


def test_every_column_of_the_marts_is_documented():
    """Each model's YAML documents exactly the columns its SQL produces (read from the
    compiled-free source of truth: the column lists of the feature macros)."""
    import re
    doc = yaml.safe_load((PROJECT / "models" / "marts" / "customers" /
                          "_customers__models.yml").read_text())
    documented = {m["name"]: [c["name"] for c in m["columns"]] for m in doc["models"]}
    macro = (PROJECT / "macros" / "features" / "user_features.sql").read_text()
    select = macro.split("final as (")[1].split("from rfm")[0]
    columns = [c for _, c in re.findall(r"^\s+(\w+)\.(\w+),?$", select, re.M)]
    assert documented["user_features"] == columns
    for model in ("user_rfm", "user_engagement", "user_lifecycle", "user_behaviour",
                  "user_preferences"):
        for prefix, col in re.findall(r"^\s+(\w+)\.(\w+),?$", select, re.M):
            if model.endswith(prefix) or (prefix == "rfm" and model == "user_rfm"):
                assert col in documented[model], f"{model}.{col} undocumented"
