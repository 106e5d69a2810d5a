#!/usr/bin/env bash
# Makes sure the system programs the tests start for real are present: Debian's redis-server
# with redis-cli and Sentinel mode (replicas sharing state, a Redis Cluster, Sentinels), openssl
# (the TLS Redis's certificates) and chromium (browser tests). Run by `npm test` before jest.
# Installs what is missing with apt-get where it can (Debian/Ubuntu, as root or with
# password-less sudo); elsewhere stops with one line naming the packages and the command.
# Never a silent skip: a test that needs one of these fails without it.
set -euo pipefail

missing=()
{ command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; } || missing+=(redis-server)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
{ command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; } || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

hint="sudo apt-get update && sudo apt-get install -y ${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "npm test needs ${missing[*]} (Debian packages; elsewhere your system's equivalents): $hint" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif sudo -n true >/dev/null 2>&1; then
  as_root=(sudo -n)
else
  echo "npm test needs ${missing[*]}; install them with: $hint" >&2
  exit 1
fi

echo "npm test: installing ${missing[*]} with apt-get (needed by the Redis, TLS and browser tests)"
export DEBIAN_FRONTEND=noninteractive
if ! { "${as_root[@]}" apt-get update -qq && "${as_root[@]}" apt-get install -y -qq "${missing[@]}"; } >/tmp/auth0-link-gateway-apt.log 2>&1; then
  echo "npm test could not install ${missing[*]} (log: /tmp/auth0-link-gateway-apt.log); install them with: $hint" >&2
  exit 1
fi
