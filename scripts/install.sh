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
# The API serves the console's built files under /console: build them when missing or older than
# their sources (core and contracts are bundled into it too).
console=packages/console
if [[ "${CI:-}" == "true" || ! -f $console/dist/index.html || -n "$(find $console/src $console/public $console/index.html $console/vite.config.ts packages/core/src packages/contracts/src -newer $console/dist/index.html -print -quit)" ]]; then
  echo "strata: building the console (vite)…" >&2
  npm run build --silent -w @strata/console >/dev/null
fi
# The console's browser e2e drives Debian's Chromium (playwright's own download cannot work offline).
if [[ -z "${STRATA_CHROMIUM:-}" ]] && ! command -v chromium >/dev/null 2>&1; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "strata: installing Chromium for the browser tests (apt-get install chromium)…" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
  else
    echo "strata: no chromium on PATH; install it (Debian: apt-get install chromium) or set STRATA_CHROMIUM" >&2
  fi
fi
node_version=$(node_modules/.bin/node --version)
[[ "$node_version" == v24.* ]] || { echo "strata: expected Node 24 in node_modules/.bin/node, found $node_version" >&2; exit 1; }
# The packages a user installs (core, contracts, redis-views, sdk, cli) run from their build:
# `npx strata` and anything outside vitest/tsx. Incremental, so an up-to-date build costs ~2 s.
PATH="$PWD/node_modules/.bin:$PATH" tsc -b tsconfig.build.json
