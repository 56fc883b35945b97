"""The project on Apache Spark: the same dbt SQL (target `spark`), the raw layer handed
over from the landing step, and the Python models run with pyspark.

dbt-spark runs Python models only on Databricks; here the same library functions run
on any Spark: each fit on a sample collected to the driver, scoring in parallel on the
executors with `mapInPandas`, the results written as the tables the SQL marts read.
"""
