#!/usr/bin/env bash
# The README's first command: from a fresh clone to the running stack telling the ShelfWise story.
# Installs what is missing, makes sure PostgreSQL, Redis and Kafka answer, then runs the stack in
# the foreground until Ctrl-C, and stops the Kafka broker if it started it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
bash infra/services.sh ensure
if ! bash infra/kafka/kafka.sh status >/dev/null 2>&1; then
  bash infra/kafka/kafka.sh start
  trap 'bash infra/kafka/kafka.sh stop' EXIT
fi
args=()
[[ "${1:-}" == "demo" ]] && args=(-- --demo)
npm start "${args[@]}"
