#!/usr/bin/env bash
# Installs the benchmark's external peers if they are missing; safe to run again.
#   etcd      Debian etcd-server (needs root for apt-get), started on loopback by the bench itself.
#   Unleash   the unleash-server npm release, into test/bench/.peers/unleash (git-ignored).
# A peer that cannot be installed is reported here and skipped by the bench with the reason.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

if ! command -v etcd >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "peers: installing etcd-server with apt-get" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null) ||
      echo "peers: apt-get install etcd-server failed; the etcd peer will be skipped" >&2
  else
    echo "peers: etcd is not installed and apt-get is not usable as root; the etcd peer will be skipped" >&2
  fi
fi

unleash_dir="$here/.peers/unleash"
if [ ! -f "$unleash_dir/node_modules/unleash-server/package.json" ]; then
  echo "peers: installing unleash-server@${UNLEASH_SERVER_VERSION:-8.2.0} into $unleash_dir (takes a minute)" >&2
  mkdir -p "$unleash_dir"
  [ -f "$unleash_dir/package.json" ] || echo '{ "name": "strata-bench-unleash-peer", "private": true }' >"$unleash_dir/package.json"
  (cd "$unleash_dir" && npm install --no-audit --no-fund --loglevel=error --ignore-scripts "unleash-server@${UNLEASH_SERVER_VERSION:-8.2.0}" >/dev/null) ||
    echo "peers: npm install unleash-server failed; the Unleash peer will be skipped" >&2
fi
exit 0
