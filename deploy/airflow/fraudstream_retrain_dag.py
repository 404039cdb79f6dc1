"""Airflow DAG for teams that already schedule with Airflow: one BashOperator runs
`fraudstream retrain` every hour. The binary does the whole pass (find new files by
fingerprint, clean, train, register, validation gate, promote), so the DAG needs no Python
dependencies beyond Airflow itself. A pass without new data exits 0 and says so in the log.

Copy into your dags/ folder; set the `fraudstream_registry` Airflow Variable to the registry
URI (e.g. postgresql://fraudstream@postgres/fraudstream) or leave it for the default file.
"""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.models import Variable
from airflow.operators.bash import BashOperator

FRAUDSTREAM = "/usr/local/bin/fraudstream"
DATA_DIR = "/var/lib/fraudstream/incoming"

with DAG(
    dag_id="fraudstream_retrain",
    description="Retrain the fraud model on new data; promote it only through the validation gate",
    schedule_interval=timedelta(hours=1),
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=5)},
    tags=["fraudstream", "mlops"],
) as dag:
    BashOperator(
        task_id="retrain",
        bash_command=(
            f"{FRAUDSTREAM} retrain --data-dir {DATA_DIR} "
            "--model fraud-detector --alias Production --json"
        ),
        env={"FRAUDSTREAM_REGISTRY": Variable.get(
            "fraudstream_registry", default_var="/var/lib/fraudstream/registry/registry.db")},
        append_env=True,
        execution_timeout=timedelta(hours=2),
    )
