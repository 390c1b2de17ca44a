#!/usr/bin/env bash
# Two SimpleSAMLphp test IdPs on loopback (reference/saml.md): idp-a on 127.0.0.1:8281, idp-b on 127.0.0.1:8282,
# served by PHP's built-in server from Debian's /usr/share/simplesamlphp/www with the config under
# deploy/simplesamlphp/<idp>/. Runtime files (generated keys, logs, sessions, trusted SP metadata in
# sp-metadata/*.xml) go to $SSP_RUNTIME_DIR (default var/simplesamlphp).
#   deploy/simplesamlphp.sh start|stop|status
# Ports: SSP_PORT_A / SSP_PORT_B. Stops only the processes it started (PID files).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
RUNTIME="${SSP_RUNTIME_DIR:-$HERE/../var/simplesamlphp}"
WWW=/usr/share/simplesamlphp/www
declare -A PORTS=([idp-a]="${SSP_PORT_A:-8281}" [idp-b]="${SSP_PORT_B:-8282}")

start_one() {
  local idp=$1 port=${PORTS[$1]} dir="$RUNTIME/$1"
  mkdir -p "$dir"/{cert,log,data,tmp,sp-metadata}
  if [ ! -s "$dir/cert/idp.crt" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -subj "/CN=test-$idp.127.0.0.1" \
      -keyout "$dir/cert/idp.key" -out "$dir/cert/idp.crt" 2>/dev/null
    chmod 644 "$dir/cert/idp.key"   # test key only; readable by whoever runs php -S
  fi
  if [ -f "$dir/php.pid" ] && kill -0 "$(cat "$dir/php.pid")" 2>/dev/null; then
    echo "$idp already running (pid $(cat "$dir/php.pid"))"; return
  fi
  SIMPLESAMLPHP_CONFIG_DIR="$HERE/simplesamlphp/$idp/config" SSP_RUNTIME_DIR="$RUNTIME" SSP_PORT="$port" \
    nohup php -S "127.0.0.1:$port" -t "$WWW" >>"$dir/log/php-server.log" 2>&1 &
  echo $! >"$dir/php.pid"
  # SimpleSAMLphp error pages are HTTP 200: wait for real metadata
  for _ in $(seq 100); do
    if curl -s "http://127.0.0.1:$port/saml2/idp/metadata.php" 2>/dev/null | grep -q EntityDescriptor; then
      echo "$idp: http://127.0.0.1:$port/saml2/idp/metadata.php"; return
    fi
    sleep 0.1
  done
  echo "$idp did not start; see $dir/log/" >&2; return 1
}

stop_one() {
  local dir="$RUNTIME/$1"
  if [ -f "$dir/php.pid" ]; then
    kill "$(cat "$dir/php.pid")" 2>/dev/null || true
    rm -f "$dir/php.pid"
  fi
}

case "${1:-}" in
  start) for idp in idp-a idp-b; do start_one $idp; done ;;
  stop) for idp in idp-a idp-b; do stop_one $idp; done ;;
  status) for idp in idp-a idp-b; do
            f="$RUNTIME/$idp/php.pid"
            if [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; then echo "$idp running"; else echo "$idp stopped"; fi
          done ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
