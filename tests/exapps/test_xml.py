"""XML output stays well-formed whatever an ExApp or a user puts in names and strings
(issue 11 item 8): task type ids and slot names that are no XML names, control characters."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from shared.http.ocs import to_xml
from tests.support.ocs import REGISTER, V2, provider_payload

NASTY = "a b<&>\"'/\x01\x1f\x7f é\ufffe"


def parse(text: str) -> ET.Element:
    return ET.fromstring(text)  # raises on malformed XML


def test_names_and_control_characters_keep_the_document_well_formed() -> None:
    body = {"ocs": {"meta": {"status": "ok"}, "data": {
        "core:text2text": {"1slot": NASTY, "a b": [NASTY, {"x\x00y": None}], "": True,
                           "élan": 1.5, "ok_name-1.x": "v"}}}}
    root = parse(to_xml(body))
    elements = root.findall("./data/element")
    assert elements[0].get("key") == "core:text2text"
    slots = {e.get("key"): e for e in elements[0].findall("element")}
    assert "\x01" not in (slots["1slot"].text or "") and "<&>" in (slots["1slot"].text or "")
    assert set(slots) == {"1slot", "a b", ""}
    assert elements[0].find("élan") is not None and elements[0].find("ok_name-1.x") is not None


async def test_tasktypes_xml_with_an_exapps_custom_type(api: Any, make_exapp: Any,
                                                        make_user: Any) -> None:
    app = await make_exapp("weird")
    custom = {"id": "weird:type/<1>", "name": NASTY, "description": NASTY,
              "input_shape": [{"name": "in put<", "description": NASTY, "shape_type": 0}],
              "output_shape": [{"name": "0out", "description": "\x02", "shape_type": 0}]}
    payload = provider_payload(pid="weird:p", task_type=custom["id"])
    resp = await api.post(REGISTER + "?format=json", json=payload | {"customTaskType": custom},
                          headers=app)
    assert resp.status == 200, await resp.text()
    alice = await make_user("alice")
    resp = await api.get(f"{V2}/tasktypes", headers=alice)  # XML is the default
    assert resp.status == 200
    root = parse(await resp.text())
    keys = [e.get("key") for e in root.iter("element")]
    assert "weird:type/<1>" in keys and "in put<" in keys and "0out" in keys


async def test_task_with_control_characters_in_xml(api: Any, make_exapp: Any,
                                                   make_user: Any) -> None:
    app = await make_exapp("llm2")
    resp = await api.post(REGISTER + "?format=json", json=provider_payload(), headers=app)
    assert resp.status == 200
    alice = await make_user("alice")
    resp = await api.post(f"{V2}/schedule", headers=alice, json={
        "type": "core:text2text", "appId": "x", "customId": "c\x01d",
        "input": {"input": "bell\x07 and nul\x00 <b>"}})
    assert resp.status == 200, await resp.text()
    task = parse(await resp.text()).find("./data/task")
    assert task is not None
    assert task.findtext("customId") == "c\ufffdd"
    assert task.findtext("./input/input") == "bell\ufffd and nul\ufffd <b>"
