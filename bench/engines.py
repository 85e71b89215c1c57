"""Quality, latency and peak memory of the local engines on real samples (docs/engines.md).

    .venv/bin/python -m bench.engines                 # every installed engine
    .venv/bin/python -m bench.engines ocr:rapidocr    # some of them
    .venv/bin/python -m bench.engines --whisper-model DIR stt:faster_whisper   # another model

Each engine runs in its own process (so peak RSS is its own) through the same provider the
dispatcher uses. Samples: the five LibriVox clips of Debian's pocketsphinx-testdata with their
reference transcripts (word error rate), a page rendered with Pillow (character accuracy), a
paragraph translated there and back (round-trip word accuracy), and five short instructions
with the answer they must contain (LLM). `cold` is the first task (model load included), `warm`
the same work again; `cpu` is the process's CPU seconds for the warm run, which moves less than
wall time when the machine is shared (engine subprocesses included).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
PAGE = """Sense and Sensibility, Chapter 1
The family of Dashwood had long been settled in Sussex. Their estate was large,
and their residence was at Norland Park, in the centre of their property, where,
for many generations, they had lived in so respectable a manner as to engage
the general good opinion of their surrounding acquaintance.
Invoice 2024-117: total due 348.50 EUR, payable within 30 days.
Contact: office@example.org, +49 30 1234 5678."""
TEXT = ("The house is big and the weather is nice today. My computer stores files on a "
        "private server, and my family can read them from anywhere.")
PAIRS = {"translate:bergamot": ("en", "pt_BR"), "translate:apertium": ("en", "es")}
QUESTIONS = [("What is the capital of France? Answer in one word.", "paris"),
             ("What colour is the sky on a clear day? Answer in one word.", "blue"),
             ("How many legs does a spider have? Answer with a number.", "8"),
             ("Translate 'thank you' into French.", "merci"),
             ("Who wrote the play Romeo and Juliet?", "shakespeare")]
ENGINES = ["stt:faster_whisper", "stt:pocketsphinx", "ocr:rapidocr", "ocr:tesseract",
           "translate:bergamot", "translate:apertium", "llama:free_prompt"]


def words(text: str) -> list[str]:
    text = text.lower().replace("mr.", "mister").replace("-", " ")
    return re.findall(r"[a-z0-9']+", text)


def distance(ref: list[str] | str, hyp: list[str] | str) -> int:
    """Levenshtein distance over words or characters."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, start=1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


class Context:
    """The ProviderContext a provider gets, serving files from a folder."""

    task_id = 1
    user_id = "bench"
    include_watermark = False

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[int, Path] = {}

    def add(self, data: bytes, name: str) -> int:
        path = self.root / f"{len(self.files) + 1}-{name}"
        path.write_bytes(data)
        self.files[len(self.files) + 1] = path
        return len(self.files)

    async def progress(self, fraction: float) -> None:
        pass

    async def read_file(self, file_id: int) -> Path:
        return self.files[file_id]

    async def write_file(self, data: bytes | Path, name: str = "output") -> int:
        if isinstance(data, Path):
            data = await asyncio.to_thread(data.read_bytes)
        return self.add(data, name)


def rendered_page() -> bytes:
    import io

    from PIL import Image, ImageDraw, ImageFont
    font = ImageFont.truetype(str(FONT), 22)
    image = Image.new("L", (1240, 600), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(PAGE.splitlines()):
        draw.text((60, 60 + 36 * i), line, fill=0, font=font)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


Work = Callable[[Any, Context], Awaitable[dict[str, Any]]]


async def stt(provider: Any, ctx: Context) -> dict[str, Any]:
    refs = dict(re.findall(r"<s> (.*) </s> \((.*)\)", (LIBRIVOX / "transcription").read_text()))
    errors = total = 0
    heard = []
    for name, ref in sorted((v, k) for k, v in refs.items()):
        out = (await provider.process({"input": ctx.add((LIBRIVOX / f"{name}.wav").read_bytes(),
                                                        "a.wav")}, ctx))["output"]
        errors += distance(words(ref), words(out))
        total += len(words(ref))
        heard.append(out)
    return {"quality": f"WER {100 * errors / total:.1f}% ({errors}/{total} words)",
            "sample": heard[1]}


async def ocr(provider: Any, ctx: Context) -> dict[str, Any]:
    out = (await provider.process({"input": [ctx.add(rendered_page(), "page.png")]}, ctx))
    got, want = " ".join(out["output"][0].split()), " ".join(PAGE.split())
    accuracy = 1 - distance(want, got) / len(want)
    return {"quality": f"character accuracy {100 * accuracy:.1f}% ({len(want)} chars)",
            "sample": got[:90]}


async def translate(provider: Any, ctx: Context) -> dict[str, Any]:
    origin, target = PAIRS[f"translate:{provider.spec.id.rsplit(':', 1)[-1]}"]
    there = (await provider.process({"input": TEXT, "origin_language": origin,
                                     "target_language": target}, ctx))["output"]
    back = (await provider.process({"input": there, "origin_language": target,
                                    "target_language": origin}, ctx))["output"]
    accuracy = 1 - distance(words(TEXT), words(back)) / len(words(TEXT))
    return {"quality": f"{origin}→{target}→{origin} word accuracy {100 * accuracy:.0f}%",
            "sample": f"{there} ⇒ {back}"}


async def llm(provider: Any, ctx: Context) -> dict[str, Any]:
    answers = [(await provider.process({"input": q}, ctx))["output"] for q, _ in QUESTIONS]
    right = sum(want in a.lower() for (_, want), a in zip(QUESTIONS, answers, strict=True))
    return {"quality": f"{right}/{len(QUESTIONS)} instructions answered right",
            "sample": " | ".join(a.replace("\n", " ")[:40] for a in answers)}


WORK: dict[str, Work] = {"stt": stt, "ocr": ocr, "translate": translate, "llama": llm}


def cpu_seconds() -> float:
    """CPU time of this process and of the engine subprocesses it waited for."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


async def measure(name: str, whisper_model: str | None) -> dict[str, Any]:
    from shared.settings_engines import EngineSettings
    module, factory = name.split(":")
    mod = importlib.import_module(f"services.dispatcher.engines.{module}")
    with tempfile.TemporaryDirectory() as tmp:
        settings = EngineSettings(model_dir=Path("var/models"), llm_temperature=0.0,
                                  llm_max_tokens=24,
                                  whisper_model_path=Path(whisper_model) if whisper_model else None)
        provider = getattr(mod, factory)(settings)
        ctx, work = Context(Path(tmp)), WORK[module]
        started = time.monotonic()
        await work(provider, ctx)
        cold = time.monotonic() - started
        started, cpu = time.monotonic(), cpu_seconds()
        result = await work(provider, ctx)
        warm, cpu = time.monotonic() - started, cpu_seconds() - cpu
    peak = max(resource.getrusage(who).ru_maxrss
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024
    return {"engine": name, "provider": provider.spec.name, **result, "cold_s": round(cold, 2),
            "warm_s": round(warm, 2), "cpu_s": round(cpu, 2), "peak_rss_mb": round(peak)}


def run_child(name: str, whisper_model: str | None) -> dict[str, Any] | None:
    args = [sys.executable, "-m", "bench.engines", "--child", name]
    if whisper_model:
        args += ["--whisper-model", whisper_model]
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        print(f"{name}: not measured ({(proc.stderr.strip().splitlines() or ['?'])[-1]})",
              file=sys.stderr)
        return None
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("engines", nargs="*", default=ENGINES)
    parser.add_argument("--whisper-model")
    parser.add_argument("--child")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(asyncio.run(measure(args.child, args.whisper_model))), flush=True)
        return 0
    print("| engine | quality | cold s | warm s | warm CPU s | peak RSS MB | sample |")
    print("|---|---|---|---|---|---|---|")
    for name in args.engines:
        r = run_child(name, args.whisper_model)
        if r is not None:
            print(f"| {r['provider']} | {r['quality']} | {r['cold_s']} | {r['warm_s']} | "
                  f"{r['cpu_s']} | {r['peak_rss_mb']} | {r['sample']} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
