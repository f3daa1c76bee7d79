"""Transform: run dbt against a private copy of the warehouse, then publish it.

Plain Python, no Airflow import. Only this package (through dbt) writes the
DuckDB warehouse; readers open the published file read-only and never see a
half-built one.
"""
