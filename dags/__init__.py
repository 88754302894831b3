"""Airflow 3 DAGs: thin tasks that run the pipeline stages (`shopfusion <stage>`) as processes."""
