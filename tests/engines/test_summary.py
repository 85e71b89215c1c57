"""Summary, headline and topics on a real paragraph, with sumy/YAKE and with ots."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from services.dispatcher.engines import summary
from services.dispatcher.engines._threads import Stopped
from services.dispatcher.provider_interface import Provider, ProviderError
from tests.support.providers import RecordingContext

PARAGRAPH = (
    "Nextcloud is a suite of client-server software for creating and using file hosting "
    "services. It is enterprise-ready with comprehensive support options. Being free and "
    "open-source software, anyone is allowed to install and operate it on their own private "
    "server devices. Nextcloud is functionally similar to Dropbox, Office 365 or Google Drive "
    "when used with integrated office suite solutions. The Nextcloud server is written in PHP "
    "and JavaScript. It supports many databases, including MySQL and PostgreSQL. The Assistant "
    "app lets users summarise text, transcribe audio and generate images through task "
    "processing providers.")


@pytest.mark.parametrize("factory", [summary.sumy_summary, summary.ots_summary])
async def test_summary_picks_sentences(make_provider: Callable[..., Provider], ctx:
                                       RecordingContext, factory: object) -> None:
    provider = make_provider(factory)
    out = (await provider.process({"input": PARAGRAPH}, ctx))["output"]
    assert 0 < len(out) < len(PARAGRAPH)
    assert all(s.strip() in PARAGRAPH for s in out.split(". ") if s.strip())


@pytest.mark.parametrize("factory", [summary.sumy_headline, summary.ots_headline])
async def test_headline_is_one_sentence(make_provider: Callable[..., Provider], ctx:
                                        RecordingContext, factory: object) -> None:
    provider = make_provider(factory)
    out = (await provider.process({"input": PARAGRAPH}, ctx))["output"]
    assert out in PARAGRAPH
    assert out.count(". ") == 0


@pytest.mark.parametrize("factory", [summary.yake_topics, summary.ots_topics])
async def test_topics_are_key_phrases(make_provider: Callable[..., Provider], ctx:
                                      RecordingContext, factory: object) -> None:
    provider = make_provider(factory)
    topics = (await provider.process({"input": PARAGRAPH}, ctx))["output"].split(", ")
    assert 2 <= len(topics) <= 5
    assert all(t.lower() in PARAGRAPH.lower() for t in topics)
    assert any("nextcloud" in t.lower() or "hosting" in t.lower() for t in topics)


async def test_empty_input_is_a_user_error(make_provider: Callable[..., Provider],
                                           ctx: RecordingContext) -> None:
    provider = make_provider(summary.sumy_summary)
    with pytest.raises(ProviderError) as err:
        await provider.process({"input": "  "}, ctx)
    assert err.value.user_message


def _long_text(sentences: int) -> str:
    words = [f"{a}{b}" for a in ("alpha", "beta", "gamma", "delta", "omega", "sigma")
             for b in ("ne", "ro", "ta", "li", "mo", "su", "va")]
    return " ".join(" ".join(words[(i * 7 + j * 3) % len(words)] for j in range(10)).capitalize()
                    + "." for i in range(sentences))


async def test_summary_of_a_long_text_is_ranked_block_by_block(
        make_provider: Callable[..., Provider], ctx: RecordingContext) -> None:
    text = _long_text(1_000)
    provider = make_provider(summary.sumy_summary)
    out = (await provider.process({"input": text}, ctx))["output"]
    picked = [s for s in out.split(". ") if s.strip()]
    assert len(picked) == 3 and all(s.rstrip(".") in text for s in picked)
    assert ctx.progress_values  # one report per block


def test_the_summary_thread_stops_at_the_next_block(
        make_provider: Callable[..., Provider]) -> None:
    """The engine thread checks its stop event (set by run_in_thread on a cancel) between
    blocks: set during the first block's report, no second block is ranked."""
    make_provider(summary.sumy_summary)  # skips (or fails under CI) without sumy
    model = summary._Sumy.load()
    stop, reports = threading.Event(), []

    def report(fraction: float) -> None:
        reports.append(fraction)
        stop.set()
    with pytest.raises(Stopped):
        model.top(_long_text(1_000), 3, stop, report)
    assert len(reports) == 1


async def test_summary_input_over_the_cap_is_refused(make_provider: Callable[..., Provider],
                                                     ctx: RecordingContext) -> None:
    provider = make_provider(summary.sumy_summary, summary_max_chars=100)
    with pytest.raises(ProviderError) as err:
        await provider.process({"input": "word " * 50}, ctx)
    assert err.value.user_message == "The text is too long: at most 100 characters."
