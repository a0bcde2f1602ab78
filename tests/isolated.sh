#!/usr/bin/env bash
# Run a command in a network namespace whose only interface is loopback, when this machine
# allows it (root, or unprivileged user namespaces). Then nothing the tests start can reach
# past 127.0.0.0/8 even by mistake: any other address fails at once with ENETUNREACH.
set -euo pipefail
if unshare --net true 2>/dev/null && command -v ip >/dev/null; then
  echo "tests: running in a network namespace with loopback only" >&2
  exec unshare --net -- bash -c 'ip link set lo up && ARCHIVER_TEST_NETNS=1 exec "$@"' isolated "$@"
elif unshare --user --map-root-user --net true 2>/dev/null && command -v ip >/dev/null; then
  echo "tests: running in a user+network namespace with loopback only" >&2
  exec unshare --user --map-root-user --net -- \
    bash -c 'ip link set lo up && ARCHIVER_TEST_NETNS=1 exec "$@"' isolated "$@"
fi
echo "tests: no network namespace available here; running on the host network" >&2
exec "$@"
