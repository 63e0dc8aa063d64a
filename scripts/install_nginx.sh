#!/usr/bin/env bash
# Installs nginx (Debian's nginx-light: the proxy, upstreams, maps; nothing else) only when it is missing, for
# `make serve` and the workers test (tests/test_workers.py). The package's own service is not needed: serving/
# runs nginx in the foreground with a private config; on a production machine enable the service (README).
# Non-interactive; runs apt-get directly as root, through sudo otherwise.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
    echo "nginx: present"
    exit 0
fi

apt_install nginx nginx-light

if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    echo "nginx: /usr/sbin/nginx still missing after apt-get install" >&2
    exit 1
fi
