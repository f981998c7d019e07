#!/usr/bin/env bash
# The README's test command, and what .ci/run runs: from a fresh clone to a passing suite.
# Installs what is missing, makes sure PostgreSQL, Redis and Kafka answer, runs lint, typecheck and
# every test tier, and stops the Kafka broker only if it started it.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
bash scripts/install.sh
bash infra/services.sh ensure
if bash infra/kafka/kafka.sh status >/dev/null 2>&1; then
  echo "strata: reusing the Kafka broker that already answers" >&2
else
  bash infra/kafka/kafka.sh start
  trap 'bash infra/kafka/kafka.sh stop' EXIT
fi
npm run lint
npm run typecheck
npm test
echo "strata: full suite passed in $(( $(date +%s) - started ))s" >&2
