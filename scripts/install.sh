#!/usr/bin/env bash
# Installs npm packages (and with them Node 24, from the `node` devDependency) when the lockfile is
# newer than what node_modules holds — so both README commands work on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.package-lock.json
if [[ "${CI:-}" == "true" || ! -f "$stamp" || package-lock.json -nt "$stamp" ]]; then
  echo "strata: installing npm packages (npm ci)…" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
node_version=$(node_modules/.bin/node --version)
[[ "$node_version" == v24.* ]] || { echo "strata: expected Node 24 in node_modules/.bin/node, found $node_version" >&2; exit 1; }
