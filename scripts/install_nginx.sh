#!/usr/bin/env bash
# Installs nginx (Debian's nginx-light: the proxy, upstreams, maps; nothing else) only when it is missing, for
# `make serve` and the workers test (tests/test_workers.py). The package's own service is not needed: serving/
# runs nginx in the foreground with a private config; on a production machine enable the service (README).
# Non-interactive; runs apt-get directly as root, through sudo otherwise.
set -euo pipefail

if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
    echo "nginx: present"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
else
    echo "nginx: missing; run this script as root or install sudo" >&2
    exit 1
fi

echo "nginx: installing nginx-light"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nginx-light

if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    echo "nginx: /usr/sbin/nginx still missing after apt-get install" >&2
    exit 1
fi
