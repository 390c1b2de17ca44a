#!/usr/bin/env bash
# Run the call engine (Kamailio 5.6 with deploy/kamailio.cfg) as a background process on 127.0.0.1.
#
#   deploy/kamailio.sh start|stop|restart|status|initdb|check
#
# start   creates the engine database and tables when missing (initdb), starts Kamailio and returns once it
#         answers JSON-RPC (exit 1 with the log's tail if it does not within KAMAILIO_START_TIMEOUT seconds)
# stop    TERM, then KILL after 10 s; status: exit 0 when running, 3 when not; check: `kamailio -c` the cfg
#
# Environment (same names as the Django settings):
#   ENGINE_DATABASE_URL  postgres://postgres@127.0.0.1:5432/controlhub_engine
#   ENGINE_SIP_ADDRESS   127.0.0.1:5060   (UDP and TCP)
#   ENGINE_RPC_URL       http://127.0.0.1:5071/RPC   (host must be 127.0.0.1)
#   KAMAILIO_RUN_DIR     var/kamailio (pid file, control socket, log kamailio.log)
#   KAMAILIO_DEBUG=1     debug logging;  KAMAILIO_USER: run as this user (its run dir must be writable by it)
#   KAMAILIO_SHM_MB      shared memory in MB (default 256): tm keeps each transaction a few seconds after it ends,
#                        so the call rate a host sustains is bounded by it (64 MB: about 400 calls/s)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
DB_URL=${ENGINE_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/controlhub_engine}
SIP_ADDRESS=${ENGINE_SIP_ADDRESS:-127.0.0.1:5060}
RPC_URL=${ENGINE_RPC_URL:-http://127.0.0.1:5071/RPC}
RUN_DIR=${KAMAILIO_RUN_DIR:-$ROOT/var/kamailio}
CFG=${KAMAILIO_CFG:-$HERE/kamailio.cfg}
SCHEMA=$HERE/kamailio-schema.sql
START_TIMEOUT=${KAMAILIO_START_TIMEOUT:-15}

mkdir -p "$RUN_DIR"
RUN_DIR=$(cd "$RUN_DIR" && pwd)
PID_FILE=$RUN_DIR/kamailio.pid          # main process (we start it in the foreground mode -DD, in the background)
LOG_FILE=$RUN_DIR/kamailio.log

# postgres[ql]://user[:password]@host[:port]/dbname -> Kamailio wants the postgres:// scheme
KAM_DB_URL=${DB_URL/#postgresql:\/\//postgres://}
KAM_DB_URL=${KAM_DB_URL%%\?*}
DB_NAME=${KAM_DB_URL##*/}
ADMIN_URL=${KAM_DB_URL%/*}/postgres
SIP_IP=${SIP_ADDRESS%:*}
SIP_PORT=${SIP_ADDRESS##*:}
RPC_HOSTPORT=${RPC_URL#*://}
RPC_HOSTPORT=${RPC_HOSTPORT%%/*}
RPC_PORT=${RPC_HOSTPORT##*:}

die() { echo "kamailio.sh: $*" >&2; exit 1; }

rpc_ok() {
  curl -sf -m 1 -H 'Content-Type: application/json' \
    -d '{"jsonrpc":"2.0","method":"core.version","id":1}' "$RPC_URL" >/dev/null 2>&1
}

running() {
  [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null
}

initdb() {
  command -v psql >/dev/null || die "psql (postgresql-client) is needed to create the engine database"
  [[ $DB_NAME =~ ^[A-Za-z0-9_]+$ ]] || die "unexpected database name '$DB_NAME'"
  if [ "$(psql "$ADMIN_URL" -XtAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != 1 ]; then
    psql "$ADMIN_URL" -Xq -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$DB_NAME\"" \
      || psql "$ADMIN_URL" -XtAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'" | grep -q 1 \
      || die "cannot create database $DB_NAME"
  fi
  # idempotent (IF NOT EXISTS / ON CONFLICT); serialised so two starts against one database do not race
  { echo "SELECT pg_advisory_lock(7450561);"; cat "$SCHEMA"; echo "SELECT pg_advisory_unlock(7450561);"; } \
    | psql "$KAM_DB_URL" -Xq -v ON_ERROR_STOP=1 -o /dev/null >/dev/null || die "cannot apply $SCHEMA"
}

defines() {
  local a=(-A "DBURL=\"$KAM_DB_URL\"" -A "SQLCON=\"ca=>$KAM_DB_URL\"" -A "CTLSOCK=\"unix:$RUN_DIR/kamailio_ctl\""
           -A "SIP_IP=$SIP_IP" -A "SIP_PORT=$SIP_PORT" -A "RPC_PORT=$RPC_PORT")
  [ -n "${KAMAILIO_DEBUG:-}" ] && a+=(-A WITH_DEBUG)
  printf '%s\0' "${a[@]}"
}

start() {
  command -v kamailio >/dev/null || die "kamailio is not installed (deploy/system-deps.sh)"
  if running && rpc_ok; then echo "kamailio already running (pid $(cat "$PID_FILE"))"; return 0; fi
  running && stop
  initdb
  # everything committed so far is loaded at start-up: no reload is owed
  psql "$KAM_DB_URL" -Xq -c "UPDATE ch_reload SET loaded = requested" >/dev/null
  mapfile -d '' defs < <(defines)
  local user=()
  [ -n "${KAMAILIO_USER:-}" ] && user=(-u "$KAMAILIO_USER" -g "$KAMAILIO_USER")
  # -DD: no daemonising (we keep the main pid), -E: log to stderr (no syslog in containers)
  setsid kamailio -f "$CFG" -DD -E -m "${KAMAILIO_SHM_MB:-256}" -M 8 "${user[@]}" -P "$RUN_DIR/kamailio.main.pid" "${defs[@]}" \
    </dev/null >"$LOG_FILE" 2>&1 &
  echo $! >"$PID_FILE"
  local deadline=$((SECONDS + START_TIMEOUT))
  until rpc_ok; do
    if ! running || [ $SECONDS -ge $deadline ]; then
      tail -n 30 "$LOG_FILE" >&2 || true
      running && stop >/dev/null
      rm -f "$PID_FILE"
      die "kamailio did not answer JSON-RPC on $RPC_URL"
    fi
    sleep 0.1
  done
  # the main process as Kamailio itself reports it (the same pid unless setsid had to fork)
  [ -s "$RUN_DIR/kamailio.main.pid" ] && cp "$RUN_DIR/kamailio.main.pid" "$PID_FILE"
  echo "kamailio running (pid $(cat "$PID_FILE")): SIP $SIP_ADDRESS, JSON-RPC $RPC_URL, database $DB_NAME"
}

stop() {
  if ! running; then rm -f "$PID_FILE"; echo "kamailio not running"; return 0; fi
  local pid
  pid=$(cat "$PID_FILE")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true   # its own process group (setsid)
  fi
  # children exit with the main process; wait for them to release the ports
  for _ in $(seq 1 50); do pgrep -g "$pid" >/dev/null 2>&1 || break; sleep 0.1; done
  rm -f "$PID_FILE" "$RUN_DIR/kamailio.main.pid"
  echo "kamailio stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status)
    if running; then echo "kamailio running (pid $(cat "$PID_FILE"))"; else echo "kamailio not running"; exit 3; fi ;;
  initdb) initdb; echo "engine database $DB_NAME ready" ;;
  check)
    mapfile -d '' defs < <(defines)
    kamailio -c -f "$CFG" "${defs[@]}" ;;
  *) echo "usage: $0 start|stop|restart|status|initdb|check" >&2; exit 2 ;;
esac
