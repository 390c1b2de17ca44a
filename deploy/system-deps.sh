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
# SAML SSO e2e tests (deploy/simplesamlphp.sh): SimpleSAMLphp as the IdP, served by php -S; it does not pull
# php-xml/php-mbstring itself (without them every page fails with 'Class "DOMDocument" not found')
[ -d /usr/share/simplesamlphp/www ] || missing+=(simplesamlphp)
command -v php >/dev/null || missing+=(php-cli)
dpkg -s php-xml >/dev/null 2>&1 || missing+=(php-xml)
dpkg -s php-mbstring >/dev/null 2>&1 || missing+=(php-mbstring)
command -v openssl >/dev/null || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
