"""Run llama.cpp's OpenAI-compatible server through xllamacpp until SIGTERM.

Executed with the python of .tools/openai-servers (not the product venv):
    python run_llama_server.py MODEL.gguf PORT
"""

from __future__ import annotations

import signal
import sys
import threading


def main() -> None:
    import xllamacpp as xlc

    model, port = sys.argv[1], int(sys.argv[2])
    p = xlc.CommonParams()
    p.model.path = model
    p.n_ctx = 2048
    p.cpuparams.n_threads = 2
    p.hostnames = ["127.0.0.1"]
    p.port = port
    server = xlc.Server(p)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    del server


if __name__ == "__main__":
    main()
