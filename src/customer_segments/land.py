"""Land landing-zone files into the warehouse's `raw` schema, file by file.

The raw layer is what an EL tool would give a dbt project: one table per source with
every contract column as text (nothing is parsed or dropped here; staging types and
quarantines), plus where each row came from. A manifest table `raw._landed_files`
records every file loaded, so a re-run only loads new or changed files, and the
staging reconciliation can check row counts against what was read from disk.

A file that cannot be read at all stops the run with a `LandingError` that names
the file and what is wrong; nothing of that file is loaded, every file before it is.

CSV files land row by row into `raw._<source>_rows`. Parquet files land by reference:
each is copied, as a file, into the warehouse's own folder (`<warehouse>_landed/`, beside
the .duckdb file; the copy is immutable, so what landed stays what staging reads even if
the landing zone changes or is emptied), every value of it is read once to check it, and
the view `raw.<source>` reads the copies in one `read_parquet`. A source is read from its
copies or from its rows table, never both (see `_by_reference`): a CSV file of the
source, or rows landed before this layout, put all of it in the table. Readers see one
relation with the same columns either way. Measured at 100M events: copying the rows
into DuckDB tables took 188-310 s of a full build and 8.7 GB of the warehouse; DuckDB
reads the copies about as fast as it read the tables (README "Performance").
Consecutive Parquet files of one source with the same schema land together (one check,
one transaction), so DuckDB reads them in parallel. Should the batch fail, it is rolled
back and landed file by file, which names the bad file.
`copy_parquet_rows_into_tables` turns a warehouse's Parquet references into rows (a
self-contained .duckdb file; `cseg land --copy-parquet-rows`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from .config import duckdb_connect
from .contract import LANDING_METADATA, SOURCES, SourceContract

log = logging.getLogger(__name__)

RAW_SCHEMA = "raw"
MANIFEST = f"{RAW_SCHEMA}._landed_files"
# the file name column of read_parquet, named off any contract column
_FILE_COLUMN = "_cs_landing_file"


def rows_table(src: SourceContract) -> str:
    """The table of rows landed row by row (CSV files); `raw.<source>` is a view."""
    return f'{RAW_SCHEMA}."_{src.name}_rows"'


def landed_dir(db: Path | str) -> Path:
    """Where the Parquet copies of a warehouse file live: `<stem>_landed/` beside it."""
    db = Path(db)
    return db.parent / f"{db.stem}_landed"
_SQL_TYPES = {"string": "varchar", "integer": "bigint", "timestamp": "timestamp"}
CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".parq")


class LandingError(RuntimeError):
    """A landing file cannot be used; the message names the file and the problem."""


@dataclass
class FileResult:
    source: str
    path: str
    rows: int
    status: str  # loaded | reloaded | unchanged
    unknown_columns: list[str] = field(default_factory=list)
    absent_columns: list[str] = field(default_factory=list)


@dataclass
class LandingReport:
    files: list[FileResult] = field(default_factory=list)
    empty_sources: list[str] = field(default_factory=list)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows for f in self.files if f.status != "unchanged")

    def summary(self) -> str:
        loaded = [f for f in self.files if f.status != "unchanged"]
        lines = [f"landed {len(loaded)} file(s), {self.rows_loaded:,} row(s); "
                 f"{len(self.files) - len(loaded)} unchanged"]
        for f in loaded:
            extra = f" (ignored unknown columns: {', '.join(f.unknown_columns)})" \
                if f.unknown_columns else ""
            lines.append(f"  {f.status:8} {f.source:12} {f.rows:>12,}  {f.path}{extra}")
        for s in self.empty_sources:
            lines.append(f"  (no files) {s}: staging for it will be empty")
        return "\n".join(lines)


def _file_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    raise LandingError(
        f"{path}: not a CSV or Parquet file (expected one of "
        f"{', '.join(CSV_SUFFIXES + PARQUET_SUFFIXES)})"
    )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def list_files(landing_dir: Path, source: SourceContract) -> list[Path]:
    """Data files for one source; hidden and `_`-prefixed files (markers) are skipped."""
    folder = landing_dir / source.name
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith((".", "_"))
    )


def _csv_header(path: Path) -> list[str]:
    opener = __import__("gzip").open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            first = fh.readline()
    except OSError as exc:
        raise LandingError(f"{path}: cannot be read ({exc})") from exc
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LandingError(
            f"{path}: header is not UTF-8 ({exc.reason} at byte {exc.start}); "
            "re-export the file as UTF-8"
        ) from exc
    delimiter = "\t" if path.name.lower().endswith(".tsv") else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    names = [c.strip() for c in rows[0]] if rows else []
    return [n or f"_unnamed_{i}" for i, n in enumerate(names, start=1)]


def _columns_of(con: duckdb.DuckDBPyConnection, path: Path, fmt: str) -> list[str]:
    if fmt == "csv":
        return _csv_header(path)
    try:
        return [r[0] for r in con.execute(
            "select name from parquet_schema(?) where num_children is null "
            "or num_children = 0", [str(path)]).fetchall()]
    except duckdb.Error as exc:
        raise LandingError(f"{path}: not a readable Parquet file ({exc})") from exc


# WAL size at which DuckDB checkpoints while landing (its default is 16 MB)
LANDING_CHECKPOINT_THRESHOLD = "2GB"

OVERFLOW_COLUMNS = 8  # values beyond the header a row may carry before the file is unreadable


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _reader(path: Path, fmt: str, header: list[str]) -> tuple[str, list[str]]:
    """A DuckDB table function reading the file, and the overflow column names."""
    p = _sql_str(str(path))
    if fmt == "parquet":
        return f"read_parquet({p}, file_row_number=true)", []
    # The header's columns are declared (all text) plus overflow columns: a short row is
    # padded with nulls, a long row keeps its extra values (they become _extra_fields,
    # and staging quarantines the row as malformed_row). The sniffer is not used: it
    # rejects rows longer than the header, and strict_mode=false would drop their values.
    overflow = [f"_overflow_{i}" for i in range(1, OVERFLOW_COLUMNS + 1)]
    columns = ", ".join(f"{_sql_str(c)}: 'VARCHAR'" for c in [*header, *overflow])
    delim = "\\t" if path.name.lower().endswith(".tsv") else ","
    return (f"read_csv({p}, header=true, columns={{{columns}}}, null_padding=true, "
            f"auto_detect=false, delim='{delim}', quote='\"', escape='\"')"), overflow


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    con.execute(f"""
        create table if not exists {MANIFEST} (
            source varchar, file_path varchar, file_bytes bigint, file_mtime double,
            file_sha256 varchar, row_count bigint, unknown_columns varchar,
            missing_optional_columns varchar, landed_at timestamp
        )""")
    # Parquet copies (landed by reference) are read from here; null: the file's rows are
    # in the rows table
    con.execute(f"alter table {MANIFEST} add column if not exists stored_path varchar")
    for src in SOURCES.values():
        kinds = dict(con.execute(
            "select table_name, table_type from information_schema.tables "
            "where table_schema = ?", [RAW_SCHEMA]).fetchall())
        if kinds.get(src.name) == "BASE TABLE" and f"_{src.name}_rows" not in kinds:
            # a warehouse from before Parquet landed by reference: its rows stay, in the
            # rows table, and the view takes the table's name
            con.execute(f'alter table {RAW_SCHEMA}.{src.name} rename to "_{src.name}_rows"')
        cols = [f'"{c}" varchar' for c in src.column_names]
        cols += [f"{c.name} {_SQL_TYPES[c.type]}" for c in LANDING_METADATA]
        con.execute(f"create table if not exists {rows_table(src)} ({', '.join(cols)})")
        refresh_view(con, src)


# a copy's path: <root>/<landing time>-<batch>/<file as landed>; the view takes the
# landing time and the file from it
_COPY_PATH = r"/(\d{8}T\d{12})-\d+/(.+)$"


def _copy_dir_name(landed_at: datetime, batch: int) -> str:
    return f"{landed_at:%Y%m%dT%H%M%S%f}-{batch}"


def _by_reference(con: duckdb.DuckDBPyConnection, src: SourceContract) -> bool:
    """Whether the source's Parquet files land by reference: only while none of its rows
    are in the rows table (a CSV file, or a warehouse from before). A source is read
    either from its copies or from its table, never both: a `union all` of a
    `read_parquet` and another scan under one hash aggregate ran out of memory at 100M
    events and 5GB (staging's repeated-key count), where either alone did not."""
    return con.execute(f"select count(*) = 0 from (select 1 from {rows_table(src)} limit 1)"
                       ).fetchone()[0]


def refresh_view(con: duckdb.DuckDBPyConnection, src: SourceContract) -> None:
    """(Re)create the view `raw.<source>`: the rows table, or, when the source's files
    landed by reference, one `read_parquet` of every copy the manifest lists
    (`union_by_name` when their schemas differ: a column a file lacks is null).
    `_landed_at` and `_source_file`
    come from the copy's path, so a filter on the landing time (staging's "landed
    since") skips the files landed before unread (DuckDB's file filters)."""
    stored = [r[0] for r in con.execute(
        f"select stored_path from {MANIFEST} where source = ? and stored_path is not null "
        f"order by stored_path", [src.name]).fetchall()]
    cols = ", ".join(f'"{c}"' for c in src.column_names)
    meta = ", ".join(c.name for c in LANDING_METADATA)
    if not stored:
        view = f"select {cols}, {meta} from {rows_table(src)}"
    else:
        schemas: dict[str, set] = {}
        for file_name, name, kind in con.execute(
                f"select file_name, name, type from parquet_schema("
                f"[{', '.join(_sql_str(p) for p in stored)}]) "
                f"where num_children is null or num_children = 0").fetchall():  # leaves
            schemas.setdefault(file_name, set()).add((name, kind))
        present = {name for cols in schemas.values() for name, _ in cols}
        # one schema (the usual case): no union_by_name, which opens every file's footer
        # whenever a query binds the view; files that differ need it
        by_name = len({frozenset(c) for c in schemas.values()}) > 1
        typed = ", ".join(f'cast("{c}" as varchar) as "{c}"' if c in present
                          else f'cast(null as varchar) as "{c}"' for c in src.column_names)
        f = _FILE_COLUMN
        view = (f"select {typed}, "
                f"regexp_extract({f}, '{_COPY_PATH}', 2) as _source_file, "
                f"file_row_number + 1 as _source_row, cast(null as varchar) as _extra_fields, "
                f"strptime(regexp_extract({f}, '{_COPY_PATH}', 1), '%Y%m%dT%H%M%S%f') "
                f"as _landed_at "
                f"from read_parquet([{', '.join(_sql_str(p) for p in stored)}], "
                f"union_by_name = {str(by_name).lower()}, file_row_number = true, "
                f"filename = '{f}')")
    con.execute(f"create or replace view {RAW_SCHEMA}.{src.name} as {view}")


def _checked_columns(path: Path, src: SourceContract, columns: list[str]) -> None:
    """Raise LandingError unless the header can land as this source."""
    if not columns:
        raise LandingError(f"{path}: no header row")
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise LandingError(f"{path}: duplicate column name(s) in header: {', '.join(dupes)}")
    missing = [c for c in src.required_columns if c not in columns]
    if missing:
        raise LandingError(
            f"{path}: missing required column(s) {', '.join(missing)} for source "
            f"'{src.name}' (header has: {', '.join(columns)}; the contract is in README.md)"
        )


def _select_list(src: SourceContract, columns: list[str]) -> list[str]:
    """The contract's columns, as text, in the raw table's order (null when absent)."""
    return [f'cast("{c}" as varchar)' if c in columns else "null" for c in src.column_names]


def _parquet_schema(con: duckdb.DuckDBPyConnection, path: Path) -> tuple:
    """The file's leaf columns with their Parquet types: files land together only when
    these are equal (one scan casts every file's columns the same way)."""
    try:
        return tuple(con.execute(
            "select name, type, logical_type from parquet_schema(?) "
            "where num_children is null or num_children = 0", [str(path)]).fetchall())
    except duckdb.Error as exc:
        raise LandingError(f"{path}: not a readable Parquet file ({exc})") from exc


def _load_file(con: duckdb.DuckDBPyConnection, src: SourceContract, path: Path, rel: str,
               landed_at: datetime) -> FileResult:
    fmt = _file_format(path)
    if path.stat().st_size == 0:
        log.warning("%s: empty file, nothing to land", path)
        return FileResult(src.name, rel, 0, "loaded")
    columns = _columns_of(con, path, fmt)
    _checked_columns(path, src, columns)
    unknown = [c for c in columns if c not in src.column_names]
    absent = [c for c in src.column_names if c not in columns]

    reader, overflow = _reader(path, fmt, columns)
    select = _select_list(src, columns)
    extra = ("concat_ws('|', " + ", ".join(f'"{c}"' for c in overflow) + ")"
             if overflow else "null")
    row_number = "file_row_number + 1" if fmt == "parquet" else "row_number() over ()"
    sql = f"""
        insert into {rows_table(src)}
        select {', '.join(select)}, ?, {row_number}, nullif({extra}, ''), ?
        from {reader}
    """
    try:
        before = con.execute(f"select count(*) from {rows_table(src)}").fetchone()[0]
        con.execute(sql, [rel, landed_at])
        after = con.execute(f"select count(*) from {rows_table(src)}").fetchone()[0]
    except duckdb.Error as exc:
        raise LandingError(f"{path}: cannot be read as {fmt.upper()} ({exc})") from exc
    return FileResult(src.name, rel, after - before, "loaded", unknown, absent)


@dataclass
class _Pending:
    """A file to land: where it is, what the manifest knew of it, what it is now."""
    path: Path
    rel: str
    size: int
    mtime: float
    digest: str
    reload: bool


def _forget(con: duckdb.DuckDBPyConnection, src: SourceContract, item: _Pending) -> list[str]:
    """Remove a changed file's earlier rows and manifest entry (inside the transaction
    that lands it again); returns its earlier Parquet copy, to delete after the commit."""
    if not item.reload:
        return []
    stored = [r[0] for r in con.execute(
        f"select stored_path from {MANIFEST} where source = ? and file_path = ? "
        f"and stored_path is not null", [src.name, item.rel]).fetchall()]
    con.execute(f"delete from {rows_table(src)} where _source_file = ?", [item.rel])
    con.execute(f"delete from {MANIFEST} where source = ? and file_path = ?",
                [src.name, item.rel])
    return stored


def _record(con: duckdb.DuckDBPyConnection, src: SourceContract, item: _Pending,
            res: FileResult, landed_at: datetime, stored: str | None = None) -> None:
    con.execute(
        f"insert into {MANIFEST} (source, file_path, file_bytes, file_mtime, file_sha256, "
        f"row_count, unknown_columns, missing_optional_columns, landed_at, stored_path) "
        f"values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [src.name, item.rel, item.size, item.mtime, item.digest, res.rows,
         ",".join(res.unknown_columns), ",".join(res.absent_columns), landed_at, stored],
    )
    res.status = "reloaded" if item.reload else "loaded"


def _remove_copies(paths: list[str], root: Path) -> None:
    """Delete Parquet copies no manifest entry reads any more. Only under this
    warehouse's own folder: a copied .duckdb file still lists the original's copies."""
    for p in paths:
        path = Path(p)
        if path.is_relative_to(root):
            path.unlink(missing_ok=True)
            for folder in path.parents:  # and the batch's folders, once empty
                if folder == root or not folder.is_relative_to(root):
                    break
                try:
                    folder.rmdir()
                except OSError:
                    break


@contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """All of the block's statements or none: commit at its end, roll back when it
    raises (and raise on)."""
    con.execute("begin transaction")
    try:
        yield
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def _land_one(con: duckdb.DuckDBPyConnection, src: SourceContract, item: _Pending,
              landed_at: datetime, root: Path) -> FileResult:
    """One CSV file in its own transaction."""
    with _transaction(con):
        old = _forget(con, src, item)
        res = _load_file(con, src, item.path, item.rel, landed_at)
        _record(con, src, item, res, landed_at)
    _remove_copies(old, root)
    return res


def _insert_parquet_batch(con: duckdb.DuckDBPyConnection, src: SourceContract,
                          items: list[_Pending], columns: list[str], landed_at: datetime,
                          root: Path) -> list[FileResult]:
    """Parquet files with one schema into the rows table, in one INSERT and one
    transaction; file by file when that fails (the error then names the file, and the
    files before it land)."""
    if len(items) == 1:
        return [_land_one(con, src, items[0], landed_at, root)]
    paths = [str(i.path) for i in items]
    file_list = "[" + ", ".join(_sql_str(p) for p in paths) + "]"
    rel_case = "case " + " ".join(f"when {_FILE_COLUMN} = {_sql_str(str(i.path))} then "
                                  f"{_sql_str(i.rel)}" for i in items) + " end"
    unknown = [c for c in columns if c not in src.column_names]
    absent = [c for c in src.column_names if c not in columns]
    old: list[str] = []
    try:
        with _transaction(con):
            for item in items:
                old += _forget(con, src, item)
            counts = dict(con.execute(
                f"select file_name, num_rows from parquet_file_metadata({file_list})"
            ).fetchall())
            inserted = con.execute(f"""
                insert into {rows_table(src)}
                select {', '.join(_select_list(src, columns))}, {rel_case},
                       file_row_number + 1, null, ?
                from read_parquet({file_list}, file_row_number = true,
                                  filename = '{_FILE_COLUMN}')
            """, [landed_at]).fetchone()[0]
            if inserted != sum(counts.values()):
                raise duckdb.Error(
                    f"landed {inserted} rows, the files hold {sum(counts.values())}")
            results = []
            for item in items:
                res = FileResult(src.name, item.rel, int(counts[str(item.path)]), "loaded",
                                 unknown, absent)
                _record(con, src, item, res, landed_at)
                results.append(res)
    except duckdb.Error as exc:
        log.warning("%s: %d Parquet files did not land together (%s); landing them one "
                    "by one", src.name, len(items), exc)
        return [_land_one(con, src, item, landed_at, root) for item in items]
    _remove_copies(old, root)
    return results


def _land_parquet_batch(con: duckdb.DuckDBPyConnection, src: SourceContract,
                        items: list[_Pending], columns: list[str], landed_at: datetime,
                        root: Path, batches) -> list[FileResult]:
    """Parquet files of one schema, by reference: copied as files into this warehouse's
    folder, every value the view reads checked by one scan of them all, then listed in
    the manifest and the view in one transaction. When the scan fails, the batch is
    landed file by file: the files before the bad one land, and the error names it.
    `batches` numbers the copy folders of this landing run."""
    batch_dir = root / _copy_dir_name(landed_at, next(batches))
    copies = [batch_dir / item.rel for item in items]
    for item, copy in zip(items, copies, strict=True):
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(item.path, copy)
    file_list = "[" + ", ".join(_sql_str(c.as_posix()) for c in copies) + "]"
    used = [c for c in columns if c in src.column_names]
    unknown = [c for c in columns if c not in src.column_names]
    absent = [c for c in src.column_names if c not in columns]
    try:
        counts = {Path(k).as_posix(): v for k, v in con.execute(
            f"select file_name, num_rows from parquet_file_metadata({file_list})").fetchall()}
        # decode every value the view will read, as it will read it (text): a file with
        # a bad data page fails here, not in the middle of a build
        checks = ", ".join(f'max(length(cast("{c}" as varchar)))' for c in used)
        scanned = con.execute(f"select count(*), {checks} from read_parquet({file_list})"
                              ).fetchone()[0]
        if scanned != sum(counts.values()):
            raise duckdb.Error(f"read {scanned} rows, the files hold {sum(counts.values())}")
    except duckdb.Error as exc:
        shutil.rmtree(batch_dir, ignore_errors=True)
        if len(items) == 1:
            raise LandingError(
                f"{items[0].path}: cannot be read as PARQUET ({exc})") from exc
        log.warning("%s: %d Parquet files did not land together (%s); landing them one "
                    "by one", src.name, len(items), exc)
        return [res for item in items for res in _land_parquet_batch(
            con, src, [item], columns, landed_at, root, batches)]
    old: list[str] = []
    results = []
    try:
        with _transaction(con):
            for item in items:
                old += _forget(con, src, item)
            for item, copy in zip(items, copies, strict=True):
                res = FileResult(src.name, item.rel, int(counts[copy.as_posix()]), "loaded",
                                 unknown, absent)
                _record(con, src, item, res, landed_at, copy.as_posix())
                results.append(res)
            refresh_view(con, src)
    except BaseException:
        shutil.rmtree(batch_dir, ignore_errors=True)
        raise
    _remove_copies(old, root)
    return results


def _copy_source_rows(con: duckdb.DuckDBPyConnection, src: SourceContract
                      ) -> tuple[int, list[str]]:
    """Move a source's Parquet references into its rows table (one transaction);
    returns the rows copied and the copies no longer read."""
    with _transaction(con):
        old = [r[0] for r in con.execute(
            f"select stored_path from {MANIFEST} where source = ? and stored_path is not null",
            [src.name]).fetchall()]
        copied = 0
        if old:
            copied = con.execute(
                f"insert into {rows_table(src)} select * from {RAW_SCHEMA}.{src.name}"
            ).fetchone()[0]
            con.execute(f"update {MANIFEST} set stored_path = null where source = ?",
                        [src.name])
            refresh_view(con, src)
    return copied, old


def copy_parquet_rows_into_tables(db: Path | str) -> int:
    """Copy the rows of every Parquet file landed by reference into the rows tables and
    drop the references (and this warehouse's copies): a self-contained .duckdb file,
    as landing was before files landed by reference; later Parquet files of a source
    with rows land as rows too. Returns the rows copied."""
    con = duckdb_connect(db)
    copied = 0
    old: list[str] = []
    try:
        con.execute("set preserve_insertion_order = false")
        ensure_raw_tables(con)
        for src in SOURCES.values():
            n, paths = _copy_source_rows(con, src)
            copied += n
            old += paths
    finally:
        con.close()
    _remove_copies(old, landed_dir(db).resolve())
    return copied


def land(landing_dir: Path, db: Path | str, *, sources: list[str] | None = None) -> LandingReport:
    """Load new or changed landing files into `raw.*`; unchanged files are skipped."""
    landing_dir = Path(landing_dir)
    if not landing_dir.is_dir():
        raise LandingError(f"{landing_dir}: landing directory does not exist")
    wanted = [SOURCES[s] for s in (sources or list(SOURCES))]
    # to the microsecond, as the build times it is compared with: truncated to the second,
    # rows landed in the second a build ended looked landed before it, and the next
    # build took them for restaged rows (the slow path; a flaky test_faults)
    landed_at = datetime.now(UTC).replace(tzinfo=None)
    root = landed_dir(db).resolve()
    batches = iter(range(1, 1 << 62))  # numbers the copy folders of this run
    report = LandingReport()
    con = duckdb_connect(db)
    checkpoint_threshold = None
    try:
        # every row carries its file and row number: the raw tables need no row order,
        # and an unordered INSERT writes from both threads without reordering
        con.execute("set preserve_insertion_order = false")
        # a file is a transaction; at DuckDB's default (16 MB of WAL) nearly every
        # commit of a CSV file checkpointed: 100M events' 139 order files, 55 s -> 28 s
        # landed with this. The WAL is still written and synced at every commit.
        checkpoint_threshold = con.execute(
            "select current_setting('checkpoint_threshold')").fetchone()[0]
        con.execute(f"set checkpoint_threshold = '{LANDING_CHECKPOINT_THRESHOLD}'")
        ensure_raw_tables(con)
        known = {
            (r[0], r[1]): (r[2], r[3], r[4])
            for r in con.execute(
                f"select source, file_path, file_bytes, file_mtime, file_sha256 from {MANIFEST}"
            ).fetchall()
        }
        for src in wanted:
            files = list_files(landing_dir, src)
            if not files:
                if src.required:
                    raise LandingError(
                        f"{landing_dir / src.name}: no files for required source '{src.name}'")
                report.empty_sources.append(src.name)
                continue
            for path in files:
                _file_format(path)  # fail fast on a foreign file before loading anything
            # a source is read from its Parquet copies or from its rows table, never
            # both (see _by_reference): a CSV file puts all of it in the table
            by_ref = (not any(_file_format(p) == "csv" for p in files)
                      and _by_reference(con, src))
            if not by_ref:
                _remove_copies(_copy_source_rows(con, src)[1], root)
            batch: list[_Pending] = []  # consecutive Parquet files of one schema
            batch_schema: tuple | None = None

            def flush(src=src, by_ref=by_ref) -> None:
                nonlocal batch, batch_schema
                if batch:
                    columns = [c[0] for c in batch_schema]
                    report.files.extend(
                        _land_parquet_batch(con, src, batch, columns, landed_at, root,
                                            batches) if by_ref else
                        _insert_parquet_batch(con, src, batch, columns, landed_at, root))
                batch, batch_schema = [], None

            for path in files:
                rel = path.relative_to(landing_dir).as_posix()
                stat = path.stat()
                prev = known.get((src.name, rel))
                if prev and prev[0] == stat.st_size and prev[1] == stat.st_mtime:
                    report.files.append(FileResult(src.name, rel, 0, "unchanged"))
                    continue
                digest = _sha256(path)
                if prev and prev[2] == digest:
                    report.files.append(FileResult(src.name, rel, 0, "unchanged"))
                    continue
                item = _Pending(path, rel, stat.st_size, stat.st_mtime, digest, bool(prev))
                if _file_format(path) == "parquet" and stat.st_size > 0:
                    try:
                        schema = _parquet_schema(con, path)
                        _checked_columns(path, src, [c[0] for c in schema])
                    except LandingError:
                        flush()  # the files before it land; nothing of this one
                        raise
                    if batch and schema != batch_schema:
                        flush()
                    batch.append(item)
                    batch_schema = schema
                    continue
                flush()
                report.files.append(_land_one(con, src, item, landed_at, root))
            flush()
    finally:
        try:  # the setting is the database's: a caller's connection to it keeps its own
            if checkpoint_threshold is not None:
                con.execute(f"set checkpoint_threshold = '{checkpoint_threshold}'")
        finally:
            con.close()
    return report
