#!/usr/bin/env bash
# Installs Debian's PostgreSQL server (initdb, postgres) for the tests of the app store on PostgreSQL (issue 18), only
# when it is missing. The tests start their own throwaway server (tests/pgserver.py); nothing here starts a cluster.
# Non-interactive; runs apt-get directly as root, through sudo otherwise.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "postgresql: $(ls -d /usr/lib/postgresql/*/bin | tail -n 1) present"
    exit 0
fi
# postgresql-common would create and start a cluster of its own: not wanted, the tests run their own.
as_root mkdir -p /etc/postgresql-common
echo "create_main_cluster = false" | as_root tee /etc/postgresql-common/createcluster.conf >/dev/null
apt_install postgresql postgresql
