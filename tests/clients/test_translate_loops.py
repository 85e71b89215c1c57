"""Mail's and Text's translate loops (nextcloud/mail src/service/translationService.js,
nextcloud/text src/components/Modal/Translate.vue), replayed as they reach taskproc through a
Nextcloud that forwards them (see test_assistant_frontend.py for the browser headers).

Both read `types['core:text2text:translate'].inputShapeEnumValues` (`origin_language`,
`target_language` lists of {name, value}), schedule `{input: {origin_language: from ?? null,
input, target_language}, type, appId}` and then poll `task/{id}` every 2 s until
`task.output` is set: they never stop on a failed task, so a pair the provider cannot
translate must be refused when scheduling (an axios error ends their loop).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.clients.replay import Client, Model, conform, poll
from tests.support.ocs import V2

HEADERS = {"Accept": "application/json, text/plain, */*", "X-Requested-With": "XMLHttpRequest",
           "OCS-APIRequest": "true"}
ENUM: Model = {"name": "str", "value": "str"}


async def languages(page: Client) -> tuple[list[Any], list[Any]]:
    resp = await page.send("GET", f"{V2}/tasktypes")
    enums = resp.json()["ocs"]["data"]["types"]["core:text2text:translate"][
        "inputShapeEnumValues"]
    assert isinstance(enums, dict)  # Mail: typeof … === 'object' -> .origin_language
    return enums["origin_language"], enums["target_language"]


async def translate(page: Client, app: str, text: str, origin: str | None,
                    target: str) -> Any:
    resp = await page.send("POST", f"{V2}/schedule", json={
        "input": {"origin_language": origin, "input": text, "target_language": target},
        "type": "core:text2text:translate", "appId": app})
    if resp.status != 200:
        return resp  # axios throws; Mail logs "Failed to translate", Text shows its error
    task = resp.json()["ocs"]["data"]["task"]

    async def fetch() -> Any:
        return (await page.send("GET", f"{V2}/task/{task['id']}")).json()["ocs"]["data"]["task"]
    done = await poll(fetch, lambda t: bool(t["output"]))  # getTaskOutput: until task.output
    return done["output"]["output"]


@pytest.mark.parametrize("app", ["mail", "text"])
async def test_translate_loop(live: Any, app: str) -> None:
    page = await live.user("alice", **HEADERS)
    origins, targets = await languages(page)
    assert all(conform(e, ENUM) == [] for e in origins + targets)
    assert [e["value"] for e in targets] == ["en", "de"]
    assert await translate(page, app, "Hello", "en", "de") == "[en→de] Hello"
    # fromLanguage ?? null: no origin chosen -> the provider's origin default applies
    assert await translate(page, app, "Hello", None, "de") == "[en→de] Hello"


async def test_an_unsupported_pair_is_refused_when_scheduling(live: Any) -> None:
    page = await live.user("alice", **HEADERS)
    resp = await translate(page, "mail", "Hallo", "de", "de")
    assert resp.status == 400
    assert resp.json()["ocs"]["data"]["message"] == (
        "Translation from de to de is not available. Available: de→en, en→de.")


async def test_defaults_never_pair_a_language_with_itself(live: Any) -> None:
    page = await live.user("alice", **HEADERS)
    tt = (await page.send("GET", f"{V2}/tasktypes")).json()["ocs"]["data"]["types"][
        "core:text2text:translate"]
    defaults = tt["inputShapeDefaults"]
    assert defaults["origin_language"] != defaults["target_language"]


def test_apertium_defaults_are_a_working_pair() -> None:
    from services.dispatcher.engines.translate import default_pair
    pairs = {("en", "en"): "eng-eng", ("en", "es"): "eng-spa", ("es", "en"): "spa-eng"}
    assert default_pair(pairs) == ("en", "es")
