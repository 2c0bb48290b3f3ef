#!/usr/bin/env bash
# Runs otelcol-agent365 locally against a365sink, the Agent 365 stand-in:
# starts both, sends a demo agent conversation through OTLP, prints what
# arrived and which required attributes are missing, then keeps running
# until Ctrl-C (or stops at once with --once). Everything it starts is
# stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

once=false
[ "${1:-}" = "--once" ] && once=true

export A365_TOKEN=${A365_TOKEN:-local-dev-token}
export SINK_PORT=${SINK_PORT:-4319} OTLP_GRPC_PORT=${OTLP_GRPC_PORT:-4317} OTLP_HTTP_PORT=${OTLP_HTTP_PORT:-4318}
export HEALTH_PORT=${HEALTH_PORT:-13133} METRICS_PORT=${METRICS_PORT:-8888}
run_dir=${RUN_DIR:-_run}
mkdir -p "$run_dir"

pids=()
stop() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  echo "Stopped."
}
trap stop EXIT
# Ctrl-C is how the demo is stopped: a clean exit, not an error.
trap 'exit 0' INT TERM

wait_http() { # url, what
  bin/a365demo wait -timeout 20s "$1" || { echo "$2 did not come up; see $run_dir/*.log" >&2; return 1; }
}

bin/a365sink -listen "127.0.0.1:$SINK_PORT" -token "$A365_TOKEN" -out "$run_dir/received.jsonl" >"$run_dir/sink.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$SINK_PORT/_sink/healthz" "a365sink"

bin/otelcol-agent365 --config examples/local.yaml >"$run_dir/collector.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$HEALTH_PORT/" "otelcol-agent365"

echo "otelcol-agent365 is up: OTLP on 127.0.0.1:$OTLP_GRPC_PORT (gRPC) and 127.0.0.1:$OTLP_HTTP_PORT (HTTP)."
echo "a365sink (the Agent 365 stand-in) is up on http://127.0.0.1:$SINK_PORT."
echo
bin/a365demo -endpoint "127.0.0.1:$OTLP_GRPC_PORT" -protocol grpc -turns 2
bin/a365demo -endpoint "127.0.0.1:$OTLP_HTTP_PORT" -protocol http -turns 1

# Two agents, three turns each, four spans a turn.
echo
if ! bin/a365demo report -expect 24 "http://127.0.0.1:$SINK_PORT"; then
  echo "See $run_dir/collector.log." >&2
  exit 1
fi
echo "Spans are in $run_dir/received.jsonl; logs in $run_dir/."
$once && exit 0
echo "Point your agent's OTLP exporter at http://127.0.0.1:$OTLP_HTTP_PORT (or grpc 127.0.0.1:$OTLP_GRPC_PORT) and watch the report."
echo "Press Ctrl-C to stop."
while true; do
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "A process exited; see $run_dir/*.log." >&2; exit 1; }
  done
  sleep 1
done
