#!/bin/sh
# Install what `make bench` needs from Debian, only when it is missing: nginx (to serve the
# generated site) and wget (the crawler archiver is compared with). Installing the package
# must not leave a system nginx listening on port 80, so service starts are refused while
# apt runs, and any nginx the install started anyway is stopped again.
set -eu

need_nginx=0
need_wget=0
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_nginx=1
command -v wget >/dev/null 2>&1 || need_wget=1
[ "$need_nginx$need_wget" = "00" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        exec sudo "$0" "$@"
    fi
    echo "bench: nginx or wget is missing; install them as root: apt-get install nginx-light wget" >&2
    exit 1
fi

# policy-rc.d exiting 101 tells invoke-rc.d (and deb-systemd-invoke) not to start services.
# Only one we created is removed again; an existing one (Docker images have one) is left.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
packages=""
if [ "$need_nginx" = 1 ]; then
    # nginx-light is the small build; Debian releases after bookworm dropped it for nginx.
    if apt-cache show nginx-light >/dev/null 2>&1; then
        packages="nginx-light"
    else
        packages="nginx"
    fi
fi
[ "$need_wget" = 1 ] && packages="$packages wget"
# shellcheck disable=SC2086 # the package list is meant to split into words
apt-get install -y --no-install-recommends $packages

# The bench runs its own nginx on a free loopback port; a system one is not wanted.
if [ "$need_nginx" = 1 ]; then
    if [ -d /run/systemd/system ]; then
        systemctl disable --now nginx >/dev/null 2>&1 || true
    elif [ -s /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then
        /usr/sbin/nginx -s quit || true
    fi
fi
