"""Extractors: read one source for one interval and land it as Parquet.

Plain Python, no Airflow import, and never opens the warehouse: only dbt writes
DuckDB. Each source module exposes ``extract(month, settings, config)``; the DAG, the
CLI (``python -m extractors``) and the tests all call that same function.
"""
