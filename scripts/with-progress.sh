#!/usr/bin/env bash
# with-progress.sh MESSAGE COMMAND...: prints MESSAGE, runs COMMAND with its
# output shown, and every 15 seconds says how long it has been running, so
# that a long first build (OCB compiles a whole collector) never looks stuck.
set -euo pipefail
msg=$1
shift
echo "$msg"
start=$SECONDS
(
  while sleep 15; do echo "  ... still working ($((SECONDS - start)) s)"; done
) &
ticker=$!
trap 'kill "$ticker" 2>/dev/null || true' EXIT
"$@"
echo "  done in $((SECONDS - start)) s"
