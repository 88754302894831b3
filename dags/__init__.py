"""Airflow 3 DAGs calling the pipeline stages (issue #9; not built yet)."""
