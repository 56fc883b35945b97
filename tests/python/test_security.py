"""No secrets in the repository: profiles read every setting from env vars, and no
tracked file carries a key, token or password. (Where PII may live is tested in
test_activation against the one list in customer_segments.contract.)"""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from .conftest import PROJECT

SECRET_PATTERNS = {
    "aws access key": re.compile(r"AKIA[0-9A-Z]{16}"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "github token": re.compile(r"gh[pousr]_[A-Za-z0-9]{30,}"),
    "slack token": re.compile(r"xox[abposr]-[A-Za-z0-9-]{10,}"),
    "literal credential": re.compile(
        r"""(?i)\b(password|passwd|secret|api_key|apikey|token|access_key)\b\s*[:=]\s*"""
        r"""['"]?(?!\{\{)(?!\$\{)(?!env)[A-Za-z0-9/+_\-]{8,}"""),
    "credentials in a URL": re.compile(r"[a-z]+://[^/\s:@]+:[^/\s@{}]+@"),
}


# engine behaviour the project relies on, not deployment settings: fixed on purpose
FIXED_ENGINE_SETTINGS = {"preserve_insertion_order", "TimeZone"}


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=PROJECT, capture_output=True, text=True)
    if out.returncode != 0:
        pytest.fail(f"git ls-files failed: {out.stderr}")
    return [f for f in out.stdout.splitlines() if f]


@pytest.mark.parametrize("name", sorted(SECRET_PATTERNS))
def test_the_scanner_finds_what_it_looks_for(name):
    examples = {
        "aws access key": "key = AKIAABCDEFGHIJKLMNOP",
        "private key": "-----BEGIN RSA PRIVATE KEY-----",
        "github token": "ghp_" + "a" * 36,
        "slack token": "xoxb-123456789012-abcdef",
        "literal credential": "password: hunter2hunter2",
        "credentials in a URL": "postgres://admin:s3cr3t@db.example.com/prod",
    }
    assert SECRET_PATTERNS[name].search(examples[name])


def test_no_tracked_file_carries_a_secret():
    hits = []
    for rel in tracked_files():
        path = PROJECT / rel
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if rel == "tests/python/test_security.py":  # the scanner's own examples
            continue
        for name, pattern in SECRET_PATTERNS.items():
            for m in pattern.finditer(text):
                hits.append(f"{rel}: {name}: {m.group(0)[:40]}")
    assert not hits, "\n".join(hits)


def test_profiles_take_every_setting_from_the_environment():
    raw = (PROJECT / "profiles.yml").read_text()
    profiles = yaml.safe_load(raw)
    for name, profile in profiles.items():
        assert "env_var(" in str(profile["target"]), name
        for output, settings in profile["outputs"].items():
            flat = dict(settings)
            flat.update(flat.pop("settings", {}) or {})
            flat.update(flat.pop("config_options", {}) or {})
            for key, value in flat.items():
                if key == "type" or key in FIXED_ENGINE_SETTINGS:
                    continue
                assert "env_var(" in str(value), f"{name}.{output}.{key} is a literal"


def test_warehouse_files_and_data_are_ignored_by_git():
    out = subprocess.run(["git", "check-ignore", "warehouse.duckdb", "data/landing/x.csv",
                          "exports/LATEST", "target/run_results.json", "data_docs/index.html"],
                         cwd=PROJECT, capture_output=True, text=True)
    assert len(out.stdout.splitlines()) == 5, out.stdout


def test_temp_directory_is_set_once_at_open_not_per_cursor():
    # dbt-duckdb runs `SET` for every `settings` entry on each new cursor; once DuckDB
    # has spilled, switching temp_directory fails the build (seen at 10M events)
    out = yaml.safe_load((PROJECT / "profiles.yml").read_text())["customer_segments"]
    duckdb_outputs = [s for s in out["outputs"].values() if s["type"] == "duckdb"]
    assert duckdb_outputs
    for settings in duckdb_outputs:
        assert "temp_directory" not in (settings.get("settings") or {})
        assert "temp_directory" in (settings.get("config_options") or {})
