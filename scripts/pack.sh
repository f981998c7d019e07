#!/usr/bin/env bash
# `npm run pack`: builds the packages a user installs and writes their tarballs to dist/packages/
# (git-ignored), ready for `npm install ./dist/packages/*.tgz` in a project outside this repo.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
tsc -b tsconfig.build.json
rm -rf dist/packages
mkdir -p dist/packages
npm pack --silent --pack-destination dist/packages \
  -w packages/core -w packages/contracts -w packages/redis-views -w packages/sdk -w packages/cli >/dev/null
ls dist/packages
