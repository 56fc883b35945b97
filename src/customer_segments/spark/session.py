"""One local Spark session configured like the dbt `spark` target (profiles.yml): the
same warehouse directory, table catalogue and UTC session time zone, so tables written
here are the tables dbt reads."""

from __future__ import annotations

import os
from pathlib import Path


def warehouse_dir() -> Path:
    return Path(os.environ.get("CS_SPARK_WAREHOUSE", "spark-warehouse")).resolve()


def settings() -> dict[str, str]:
    """The server-side parameters of the `spark` output in profiles.yml, from the same
    environment variables with the same defaults (a test checks they agree)."""
    wh = os.environ.get("CS_SPARK_WAREHOUSE", "spark-warehouse")
    return {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.warehouse.dir": wh,
        "spark.sql.shuffle.partitions": os.environ.get("CS_SPARK_SHUFFLE_PARTITIONS", "4"),
        "spark.driver.memory": os.environ.get("CS_SPARK_DRIVER_MEMORY", "4g"),
        "spark.sql.ansi.enabled": "false",
        "spark.hadoop.javax.jdo.option.ConnectionURL":
            f"jdbc:derby:;databaseName={wh}/metastore_db;create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={wh}",
    }


def get_session(app_name: str = "customer-segments"):
    """The local session (Hive catalogue on Derby, as dbt-spark's `method: session`)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name).enableHiveSupport()
    for key, value in settings().items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
