# Sourced by scripts/bench-service and scripts/bench-gateway: the settings, the Debian
# packages they need, and the service under test. start_service builds the release
# binary and the fixture, serves the fixture's JWKS on loopback (python3 http.server)
# and starts `jwtshield serve` on core 0 with the `bench` profile; it sets tmp, pids
# (stopped on exit), JWKS_PORT and SVC_PORT.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DURATION=${DURATION:-15}
export RUST_LOG=${RUST_LOG:-info}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# install_debs CMD...: installs the Debian package of each command that is missing
install_debs() {
  local need=() c
  for c in "$@"; do command -v "$c" >/dev/null || [ -x "/usr/sbin/$c" ] || need+=("$c"); done
  if [ ${#need[@]} -gt 0 ]; then
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${need[@]}"
  fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_for URL: up to 10 s for URL to answer 2xx
wait_for() { for _ in $(seq 100); do curl -sf "$1" >/dev/null && return; sleep 0.1; done; }

start_service() {
  command -v taskset >/dev/null || { echo "taskset (util-linux) is required" >&2; exit 1; }
  cargo build --release --locked -q -p jwtshield -p jwtshield-server --bin jwtshield --example bench_fixture
  tmp=$(mktemp -d)
  pids=()
  trap 'for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; sleep 0.3; rm -rf "$tmp"' EXIT
  JWKS_PORT=$(free_port); SVC_PORT=$(free_port)
  target/release/examples/bench_fixture "$tmp" "http://127.0.0.1:$JWKS_PORT/"
  python3 -m http.server "$JWKS_PORT" --bind 127.0.0.1 --directory "$tmp" >/dev/null 2>&1 &
  pids+=($!)
  wait_for "http://127.0.0.1:$JWKS_PORT/.well-known/jwks.json"
  JWTSHIELD_DATA_DIR="$tmp/data" taskset -c 0 target/release/jwtshield serve --listen "127.0.0.1:$SVC_PORT" \
    --profiles "$tmp/profiles.json" --jwks-allow-insecure 2>"$tmp/server.log" &
  pids+=($!)
  wait_for "http://127.0.0.1:$SVC_PORT/readyz"
}
