#!/usr/bin/env bash
# Debian packages the test suite drives for real: Chromium (Playwright's browser, never a downloaded build).
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v msgfmt >/dev/null || missing+=(gettext)
# call engine (deploy/kamailio.sh) and its SIP tests: Kamailio 5.6 + PostgreSQL driver, sipp, psql, curl
command -v kamailio >/dev/null || missing+=(kamailio)
dpkg -s kamailio-postgres-modules >/dev/null 2>&1 || missing+=(kamailio-postgres-modules)
command -v sipp >/dev/null || missing+=(sip-tester)
command -v psql >/dev/null || missing+=(postgresql-client)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
