"""Command line: `cseg <command>` (also installed as `customer-segments`)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from . import config


def _cmd_generate(args: argparse.Namespace) -> int:
    from .generate import GenerateConfig, generate

    cfg = GenerateConfig(
        customers=args.customers, days=args.days, seed=args.seed, end_date=args.end_date,
        bad_rate=args.bad_rate, duplicate_rate=args.duplicate_rate, chunk_size=args.chunk_size,
    )
    summary = generate(cfg, Path(args.out), Path(args.truth_dir), progress=not args.quiet)
    rows = {s: c["rows"] for s, c in summary["rows"].items()}
    print(f"wrote landing zone to {args.out}: {rows}; ground truth in {args.truth_dir}")
    return 0


def _cmd_land(args: argparse.Namespace) -> int:
    from .land import LandingError, copy_parquet_rows_into_tables, land

    try:
        report = land(Path(args.landing_dir), Path(args.db))
    except LandingError as exc:
        print(f"landing failed: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    if getattr(args, "copy_parquet_rows", False):
        copied = copy_parquet_rows_into_tables(Path(args.db))
        print(f"copied {copied:,} row(s) of Parquet files into the raw tables")
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from .importer import ImportError_, import_transactions, load_mapping

    try:
        mapping = load_mapping(Path(args.mapping))
        report = import_transactions(args.input, mapping, Path(args.out), name=args.name)
    except ImportError_ as exc:
        print(f"import failed: {exc}", file=sys.stderr)
        return 2
    for key, value in report.items():
        print(f"{key:>28}: {value}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from .export import ExportError, export

    try:
        if args.skip_gates:
            print("WARNING: --skip-gates: exporting without the quality gates",
                  file=sys.stderr)
        result = export(Path(args.db), Path(args.out), tuple(args.format.split(",")),
                        check_gates=not args.skip_gates,
                        on_gate=lambda g: print(g.line(), file=sys.stderr))
    except ExportError as exc:
        print(f"export failed: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from datetime import date

    from .report import build_report

    def day(text: str | None):
        return date.fromisoformat(text) if text else None

    result = build_report(args.db, args.out, from_date=day(args.from_date),
                          to_date=day(args.to_date))
    print(f"report: {result.path} ({len(result.charts)} charts)")
    for chart, why in result.empty.items():
        print(f"  empty: {chart}: {why}")
    return 0


def _cmd_gates(args: argparse.Namespace) -> int:
    import duckdb

    from .quality.gates import blocking, evaluate

    con = duckdb.connect(str(args.db), read_only=True)
    try:
        gates = evaluate(con)
    finally:
        con.close()
    for gate in gates:
        print(gate.line())
    return 1 if blocking(gates) else 0


def _cmd_build(args: argparse.Namespace) -> int:
    rc = _cmd_land(args)
    if rc:
        return rc
    from dbt.cli.main import dbtRunner

    os.environ.setdefault(config.ENV_DB_PATH, str(Path(args.db).resolve()))
    result = dbtRunner().invoke(["build", *args.dbt_args])
    return 0 if result.success else 1


def _cmd_spark_build(args: argparse.Namespace) -> int:
    from .spark.build import spark_build

    result = spark_build(Path(args.landing_dir), Path(args.db),
                         project_dir=config.project_root(), dbt_args=args.dbt_args)
    print(result.summary())
    return 0 if result.ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cseg", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="write synthetic landing-zone data with ground truth")
    g.add_argument("--customers", type=int, default=2_000)
    g.add_argument("--days", type=int, default=365)
    g.add_argument("--seed", type=int, default=42)
    g.add_argument("--end-date", default="2026-09-30", help="last day of data (YYYY-MM-DD)")
    g.add_argument("--bad-rate", type=float, default=0.01, help="share of bad rows per source")
    g.add_argument("--duplicate-rate", type=float, default=0.005)
    g.add_argument("--chunk-size", type=int, default=20_000, help="customers per chunk")
    g.add_argument("--out", default=str(config.landing_dir()))
    g.add_argument("--truth-dir", default=str(config.project_root() / "data" / "ground_truth"))
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g.set_defaults(func=_cmd_generate)

    for name, func, text in (("land", _cmd_land, "load new landing files into raw.*"),
                             ("build", _cmd_build, "land, then dbt build")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--landing-dir", default=str(config.landing_dir()))
        p.add_argument("--db", default=str(config.db_path()))
        p.add_argument("--copy-parquet-rows", action="store_true",
                       help="copy Parquet files' rows into the raw tables instead of keeping "
                       "the files (in <warehouse>_landed/) for raw.* to read: a "
                       "self-contained .duckdb file, slower to land")
        if name == "build":
            p.add_argument("dbt_args", nargs=argparse.REMAINDER,
                           help="passed to dbt build (e.g. --select staging)")
        p.set_defaults(func=func)

    s = sub.add_parser("spark-build", help="land, then build the whole project on Spark "
                       "(dbt target spark; Python models through the Spark runner)")
    s.add_argument("--landing-dir", default=str(config.landing_dir()))
    s.add_argument("--db", default=str(config.project_root() / "landing.duckdb"),
                   help="the landing step's bookkeeping database (raw.* before Spark)")
    s.add_argument("dbt_args", nargs=argparse.REMAINDER,
                   help="passed to every dbt call (e.g. --target-path /tmp/t)")
    s.set_defaults(func=_cmd_spark_build)

    e = sub.add_parser("export", help="write the full exportable set and the diff since "
                       "the last export (reverse ETL)")
    e.add_argument("--db", default=str(config.db_path()))
    e.add_argument("--out", default=str(config.project_root() / "exports"))
    e.add_argument("--format", default="csv,parquet", help="csv, parquet or both")
    e.add_argument("--skip-gates", action="store_true",
                   help="export even when a quality gate fails (an operator's override)")
    e.set_defaults(func=_cmd_export)

    r = sub.add_parser("report", help="write the static HTML segment report (offline)")
    r.add_argument("--db", default=str(config.db_path()))
    r.add_argument("--out", default=str(config.project_root() / "reports" /
                                        "segment_report.html"))
    r.add_argument("--from-date", help="lifecycle flow from this snapshot (YYYY-MM-DD; "
                   "default: the one before --to-date)")
    r.add_argument("--to-date", help="lifecycle flow to this snapshot (default: the newest)")
    r.set_defaults(func=_cmd_report)

    g = sub.add_parser("gates", help="evaluate the export gates (build, expectations, "
                       "volume, freshness, models); exit 1 if any is at error")
    g.add_argument("--db", default=str(config.db_path()))
    g.set_defaults(func=_cmd_gates)

    i = sub.add_parser("import-transactions",
                       help="map a plain transactions export onto the orders contract")
    i.add_argument("--input", required=True, help="file or glob of CSV/Parquet files")
    i.add_argument("--mapping", required=True, help="YAML column mapping (see mappings/)")
    i.add_argument("--out", default=str(config.landing_dir()), help="landing directory")
    i.add_argument("--name", default="import", help="name of the orders file written")
    i.set_defaults(func=_cmd_import)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(message)s")
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
