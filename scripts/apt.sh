# Sourced by the install_*.sh scripts: `apt_install LABEL PACKAGE…` installs Debian packages non-interactively,
# directly as root, through `sudo -n` otherwise; it fails with a message naming the packages when neither is possible.
# (One copy of this, so the four installers cannot drift apart.)

apt_install() {
    local label=$1
    shift
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo -n)
        else
            echo "$label: missing $*; run this script as root or install sudo" >&2
            return 1
        fi
    fi
    echo "$label: installing $*"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# Runs one command as root (directly, or through sudo -n), for the few steps an installer takes besides apt-get.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}
