#!/usr/bin/env bash
# `make up` / `make down`: the whole stack on 127.0.0.1, production-shaped (PostgreSQL, Redis, gunicorn, Celery
# worker and beat, the phone provisioning server, Kamailio). `up` returns once every part answers.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/.venv/bin
RUN=$ROOT/var/run
LOG=$ROOT/var/log
mkdir -p "$RUN" "$LOG"

# One environment for every process, kept in var/stack.env so `make down` and later shells agree.
ENV_FILE=$ROOT/var/stack.env
if [ ! -f "$ENV_FILE" ]; then
  cat > "$ENV_FILE" <<ENV
DATABASE_URL=postgres://postgres@127.0.0.1:5432/controlhub
REDIS_URL=redis://127.0.0.1:6379/0
SECRET_KEY=$(head -c 32 /dev/urandom | base64 | tr -d '/+=')
CALL_ENGINE=kamailio
ENGINE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/controlhub_engine
ENGINE_SIP_ADDRESS=127.0.0.1:5060
ENGINE_RPC_URL=http://127.0.0.1:5071/RPC
KAMAILIO_RUN_DIR=$RUN/kamailio
PROVISIONING_URL=http://127.0.0.1:8480
PROVISIONING_PUSH_URL=http://127.0.0.1:8480
PROVISIONING_PUSH_TOKEN=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
PROVISIONING_STORE=$ROOT/var/provisioning
PUBLIC_BASE_URL=http://127.0.0.1:8000
WHITENOISE_USE_FINDERS=true
ENV
fi
set -a; . "$ENV_FILE"; set +a
# gunicorn runs several processes: sign-in throttling must count in one shared cache (Redis db 1)
export CACHE_URL=${CACHE_URL:-redis://127.0.0.1:6379/1}

wait_for() {  # wait_for NAME SECONDS COMMAND...
  local name=$1 seconds=$2; shift 2
  for _ in $(seq 1 $((seconds * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "$name did not answer within ${seconds}s (logs: $LOG)" >&2; return 1
}
http_up() { curl -s -o /dev/null -m 2 "$1"; }
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

up() {
  bash deploy/services.sh
  psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'controlhub'" | grep -q 1 \
    || createdb -h 127.0.0.1 -U postgres controlhub
  "$BIN/python" manage.py migrate --noinput -v0
  "$BIN/python" manage.py seed_demo > "$LOG/seed.txt"

  bash deploy/kamailio.sh start >/dev/null
  if ! alive "$RUN/provisioning.pid"; then
    setsid "$BIN/python" -m devices.provisioning.server --host 127.0.0.1 --port 8480 \
      --store "$PROVISIONING_STORE" >> "$LOG/provisioning.log" 2>&1 &   # push token from the environment
    echo $! > "$RUN/provisioning.pid"
  fi
  if ! alive "$RUN/gunicorn.pid"; then
    "$BIN/gunicorn" controlhub.wsgi -b 127.0.0.1:8000 -w 3 --daemon --pid "$RUN/gunicorn.pid" \
      --access-logfile "$LOG/web-access.log" --error-logfile "$LOG/web.log"
  fi
  if ! alive "$RUN/worker.pid"; then
    "$BIN/celery" -A controlhub worker --detach -n "worker@%h" --pidfile "$RUN/worker.pid" \
      --logfile "$LOG/worker.log" -l info
  fi
  if ! alive "$RUN/beat.pid"; then
    "$BIN/celery" -A controlhub beat --detach --pidfile "$RUN/beat.pid" --logfile "$LOG/beat.log" \
      --schedule "$RUN/beat-schedule"
  fi

  wait_for "portal (gunicorn :8000)" 30 http_up http://127.0.0.1:8000/accounts/login/
  wait_for "provisioning server (:8480)" 30 http_up http://127.0.0.1:8480/
  wait_for "Kamailio JSON-RPC (:5071)" 30 curl -sf -m 2 -d '{"jsonrpc":"2.0","method":"core.version","id":1}' "$ENGINE_RPC_URL"
  wait_for "Celery worker" 30 "$BIN/celery" -A controlhub inspect ping -d "worker@$(hostname)" --timeout 1
  alive "$RUN/beat.pid" || { echo "Celery beat did not start (logs: $LOG/beat.log)" >&2; return 1; }

  echo "controlhub is up:"
  echo "  portal        http://127.0.0.1:8000/      (API http://127.0.0.1:8000/v1/, docs /v1/docs/)"
  echo "  provisioning  http://127.0.0.1:8480/<org key>/   (phones: DHCP option 66/150/160)"
  echo "  call engine   sip:127.0.0.1:5060 (Kamailio; JSON-RPC $ENGINE_RPC_URL)"
  echo "  worker, beat  Celery on $REDIS_URL; logs in var/log/"
  grep -E "Sign in|API token|Partner" "$LOG/seed.txt" | sed 's/^/  /'
}

stop_pid() {  # stop_pid NAME PIDFILE
  local file=$2
  if alive "$file"; then
    local pid; pid=$(cat "$file")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
    echo "stopped $1"
  fi
  rm -f "$file"
}

down() {
  stop_pid "Celery beat" "$RUN/beat.pid"
  stop_pid "Celery worker" "$RUN/worker.pid"
  stop_pid "portal" "$RUN/gunicorn.pid"
  stop_pid "provisioning server" "$RUN/provisioning.pid"
  bash deploy/kamailio.sh stop
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
