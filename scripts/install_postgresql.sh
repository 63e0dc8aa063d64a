#!/usr/bin/env bash
# Installs Debian's PostgreSQL server (initdb, postgres) for the tests of the app store on PostgreSQL (issue 18), only
# when it is missing. The tests start their own throwaway server (tests/pgserver.py); nothing here starts a cluster.
# Non-interactive; runs apt-get directly as root, through sudo otherwise.
set -euo pipefail

if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "postgresql: $(ls -d /usr/lib/postgresql/*/bin | tail -n 1) present"
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
else
    echo "postgresql: missing; run this script as root or install sudo" >&2
    exit 1
fi
echo "postgresql: installing"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
# postgresql-common would create and start a cluster of its own: not wanted, the tests run their own.
"${SUDO[@]}" mkdir -p /etc/postgresql-common
echo "create_main_cluster = false" | "${SUDO[@]}" tee /etc/postgresql-common/createcluster.conf >/dev/null
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql
