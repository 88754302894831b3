#!/usr/bin/env bash
# Airflow 3 standalone with the ShopFusion DAGs (profile: deploy/airflow/standalone.env).
#   scripts/airflow.sh start   # background; waits until healthy; prints URL and login
#   scripts/airflow.sh stop    # SIGINT (SIGTERM leaves its children holding the port)
#   scripts/airflow.sh run     # foreground
# AIRFLOW_HOME defaults to <project>/.airflow; AIRFLOW_PORT to 8080.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROJECT=${SHOPFUSION_ROOT:-$ROOT}
export PATH="$ROOT/.venv/bin:$PATH"
export AIRFLOW_HOME=${AIRFLOW_HOME:-$PROJECT/.airflow}
PORT=${AIRFLOW_PORT:-8080}
PIDFILE=$AIRFLOW_HOME/standalone.pid
LOG=$AIRFLOW_HOME/standalone.log
PASSWORDS=$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated

setup() {
  umask 077  # the metadata DB, logs and credentials are the owner's alone
  mkdir -p "$AIRFLOW_HOME"
  while IFS='=' read -r key value; do  # the profile, unless the caller set the variable
    [[ -z $key || $key == \#* ]] && continue
    [[ -z ${!key:-} ]] && export "$key=$value"
  done < "$ROOT/deploy/airflow/standalone.env"
  export AIRFLOW__CORE__DAGS_FOLDER=$ROOT/dags AIRFLOW__API__PORT=$PORT
  export AIRFLOW__API__BASE_URL=${AIRFLOW__API__BASE_URL:-http://localhost:$PORT}
  export SHOPFUSION_ROOT=$PROJECT BENTOML_HOME=${BENTOML_HOME:-$PROJECT/.bentoml}
  export BENTOML_DO_NOT_TRACK=true
  # the admin password written by us (0600) before Airflow starts: Airflow then finds the user
  # in the file and never prints the password into its log
  if [[ ! -s $PASSWORDS ]]; then
    python -c "import json, secrets, sys; json.dump({'admin': secrets.token_urlsafe(16)}, open(sys.argv[1], 'w'))" "$PASSWORDS"
  fi
  chmod 600 "$PASSWORDS"
  airflow db migrate > "$AIRFLOW_HOME/migrate.log" 2>&1
  airflow pools set shopfusion_stages 1 "ShopFusion stages: one writer of the project at a time" > /dev/null
}

stop() {
  [[ -f $PIDFILE ]] || return 0
  local pid; pid=$(cat "$PIDFILE")
  kill -INT "$pid" 2>/dev/null || true  # standalone stops its children on SIGINT
  for _ in $(seq 1 45); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
}

case ${1:-start} in
  run) setup; exec airflow standalone ;;
  stop) stop ;;
  start)
    stop; setup
    # Job control: its own process group, and SIGINT not ignored (as it is for `&` in scripts).
    set -m
    airflow standalone > "$LOG" 2>&1 < /dev/null & echo $! > "$PIDFILE"
    set +m
    for _ in $(seq 1 120); do
      curl -sf "localhost:$PORT/api/v2/monitor/health" > /dev/null && [[ -s $PASSWORDS ]] && break
      sleep 1
    done
    curl -sf "localhost:$PORT/api/v2/monitor/health" > /dev/null || { echo "Airflow did not start; see $LOG"; exit 1; }
    echo "Airflow UI: http://localhost:$PORT  login: admin, password in $PASSWORDS (owner-only)"
    echo "log: $LOG; stop: scripts/airflow.sh stop (make airflow-stop)"
    ;;
  *) echo "usage: $0 start|stop|run" >&2; exit 2 ;;
esac
