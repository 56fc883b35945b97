"""`cseg spark-build`: the whole project on Spark, in one process and one Spark session.

1. land the files (the landing step's own embedded database keeps the file bookkeeping)
   and hand its raw.* tables to Spark;
2. `dbt build` (target spark) of everything not downstream of a Python model;
3. the Python models whose inputs are built, run by the Spark runner (spark.ml), then
   `dbt build` of what now has its inputs (with the Python models' own tests); repeated
   until every Python model ran.

dbt-spark's `method: session` reuses the session this process made, so dbt, the raw
hand-over and the models share one JVM.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class StageResult:
    name: str
    seconds: float
    ok: bool
    detail: str = ""


@dataclass
class SparkBuild:
    stages: list[StageResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.stages)

    def summary(self) -> str:
        return "\n".join(f"  {s.name:<40} {s.seconds:7.1f} s  {'ok' if s.ok else 'FAILED'}"
                         f"{'  ' + s.detail if s.detail else ''}" for s in self.stages)


def spark_build(landing_dir: Path, db: Path, *, project_dir: Path,
                dbt_args: list[str] | None = None, spark=None) -> SparkBuild:
    from dbt.cli.main import dbtRunner

    from ..land import land
    from .ml import python_model_waves, run_python_models
    from .raw import land_to_spark
    from .session import get_session, warehouse_dir

    os.environ["CS_TARGET"] = "spark"
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    result = SparkBuild()
    extra = list(dbt_args or [])

    def stage(name: str, func) -> bool:
        started = time.perf_counter()
        try:
            ok, detail = func()
        except Exception as exc:  # noqa: BLE001 - reported as the stage's failure
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        result.stages.append(StageResult(name, time.perf_counter() - started, ok, detail))
        print(f"[spark-build] {name}: {'ok' if ok else 'FAILED ' + detail} "
              f"({result.stages[-1].seconds:.1f} s)", file=sys.stderr, flush=True)
        return ok

    def do_land():
        report = land(landing_dir, db)
        return True, f"{report.rows_loaded:,} rows landed"

    session_box = {}

    def do_raw():
        session_box["spark"] = spark or get_session()
        counts = land_to_spark(db, warehouse_dir() / "_raw_export", session_box["spark"])
        return True, ", ".join(f"{t} {n:,}" for t, n in counts.items())

    runner = dbtRunner()

    def dbt(args: list[str]):
        res = runner.invoke([*args, "--project-dir", str(project_dir),
                             "--profiles-dir", str(project_dir), *extra])
        return bool(res.success), "" if res.success else f"dbt {' '.join(args)} failed"

    target = Path(os.environ.get("DBT_TARGET_PATH", project_dir / "target"))

    def do_parse():
        return dbt(["parse"])

    if not (stage("land", do_land) and stage("raw to spark", do_raw)
            and stage("dbt parse", do_parse)):
        return result
    waves = [[n["name"] for n in wave] for wave in
             python_model_waves(json.loads((target / "manifest.json").read_text()))]
    python_models = "path:python_models,resource_type:model"
    if not stage("dbt build (before the Python models)",
                 lambda: dbt(["build", "--exclude", "path:python_models+"])):
        return result
    for i, wave_names in enumerate(waves):
        later = [name for w in waves[i + 1:] for name in w]

        def do_models(wave_names=wave_names):
            rows = run_python_models(project_dir, target / "manifest.json",
                                     spark=session_box["spark"], names=wave_names)
            return True, ", ".join(f"{r['model']} {r['rows']:,}" for r in rows)

        if not stage(f"python models {', '.join(wave_names)}", do_models):
            return result
        exclude = [python_models] + [f"{n}+" for n in later]
        if not stage(f"dbt build (after {', '.join(wave_names)})",
                     lambda wave_names=wave_names, exclude=exclude: dbt(
                         ["build", "--select", *[f"{n}+" for n in wave_names],
                          "--exclude", *exclude])):
            return result
    return result
