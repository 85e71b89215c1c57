"""The requests scripts/compare_nc34.py sends to both servers, grouped by issue 12's items.

`who` names a credential role (see compare_nc34_lib.roles); `show` selects what to print:
`j:a/b/c` a JSON value, `t:a/b` its type, `keys:a/b` a map's keys, `len:a/b`, `h:Header`,
`x:tag` an XML element's text, `body:N` the first N bytes. `save` keeps the task id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

V2 = "/ocs/v2.php/taskprocessing"
V1 = "/ocs/v1.php/taskprocessing"
AI = "/apps/app_api/api/v1/ai_provider/task_processing"
TASK = "ocs/data/task"
SEC_HEADERS = ("h:Cache-Control", "h:X-Content-Type-Options", "h:X-Frame-Options",
               "h:Content-Security-Policy", "h:Feature-Policy", "h:X-Robots-Tag",
               "h:Referrer-Policy", "h:X-Permitted-Cross-Domain-Policies")
JSON = {"Accept": "application/json"}


@dataclass(frozen=True)
class Probe:
    label: str
    method: str
    path: str
    who: str = "alice"
    body: dict[str, Any] | str | None = None
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))
    show: tuple[str, ...] = ()
    save: str | None = None
    phase: str = "scheduled"
    ocs_header: bool = True
    repeat: int = 1


def _task_fields(prefix: str = TASK) -> tuple[str, ...]:
    return (f"j:{prefix}/status", f"j:{prefix}/progress", f"t:{prefix}/startedAt",
            f"t:{prefix}/scheduledAt", f"t:{prefix}/endedAt", f"t:{prefix}/completionExpectedAt",
            f"j:{prefix}/output")


def _sched(text: str, save: str, type_: str = "core:text2text", app: str = "compare",
           path: str = f"{V2}/schedule") -> Probe:
    return Probe(f"POST {path} {type_} {text!r}", "POST", path,
                 body={"type": type_, "appId": app, "input": {"input": text},
                       "customId": "cmp"}, save=save, show=_task_fields())


TYPES = ("core:text2text", "core:text2text:summary", "core:text2text:headline",
         "core:text2text:topics", "core:text2text:reformulation", "core:text2speech")

SCHEDULED: list[Probe] = [
    # item 3: task JSON before any progress
    _sched("hello", "t1"),
    _sched("ncdev:sleep=4 running", "t2"),
    Probe("POST /schedule (XML answer)", "POST", V2 + "/schedule", headers={},
          body={"type": "core:text2text", "appId": "compare", "input": {"input": "xml"}},
          show=("x:progress", "x:startedAt", "x:output")),
    Probe("POST /schedule (form body, as NextcloudKit)", "POST", V2 + "/schedule",
          body="input%5Binput%5D=form&type=core%3Atext2text&appId=assistant&customId=",
          show=(f"j:{TASK}/input", f"j:{TASK}/customId", f"j:{TASK}/progress")),
    Probe("POST /schedule unknown type", "POST", V2 + "/schedule",
          body={"type": "core:nope", "appId": "x", "input": {"input": "x"}}),
    Probe("POST /schedule missing input slot", "POST", V2 + "/schedule",
          body={"type": "core:text2text", "appId": "x", "input": {}}),
    _sched("ncdev:sleep=30 to cancel", "t3"),
    _sched("ncdev:fail-user", "t4"),
    _sched("say hi", "t6", "core:text2speech"),
    Probe("GET /task/{t1} (scheduled)", "GET", V2 + "/task/{t1}", show=_task_fields()),
    Probe("GET /task/{t1} (scheduled) XML", "GET", V2 + "/task/{t1}", headers={},
          show=("x:progress", "x:startedAt", "x:status")),
    Probe("POST /tasks/{t3}/cancel (scheduled)", "POST", V2 + "/tasks/{t3}/cancel",
          show=_task_fields()),
    # item 1: repeated slashes
    _sched("double slash", "t5", path="//ocs/v2.php/taskprocessing/schedule"),
    Probe("GET //ocs/v2.php/taskprocessing/tasks?taskType=core:text2text", "GET",
          "//ocs/v2.php/taskprocessing/tasks?taskType=core:text2text",
          show=("nonempty:ocs/data/tasks",)),
    Probe("GET /ocs//v2.php///taskprocessing//task/{t1}?format=json (no Accept)", "GET",
          "/ocs//v2.php///taskprocessing//task/{t1}?format=json", headers={},
          show=("h:Content-Type", "is:ocs/data/task/id=t1")),
    Probe("GET ///ocs/v1.php//cloud/capabilities?format=json", "GET",
          "///ocs/v1.php//cloud/capabilities?format=json", who="none", headers={},
          show=("h:Content-Type",)),
    Probe("DELETE //ocs/v2.php/taskprocessing/task/{t5}", "DELETE",
          "//ocs/v2.php/taskprocessing/task/{t5}", show=("j:ocs/data",)),
    # item 2: capabilities and user
    Probe("GET /ocs/v2.php/cloud/capabilities (no auth)", "GET",
          "/ocs/v2.php/cloud/capabilities", who="none",
          show=("keys:ocs/data/version", "j:ocs/data/version/string",
                "j:ocs/data/capabilities/core/pollinterval",
                "j:ocs/data/capabilities/core/webdav-root",
                "keys:ocs/data/capabilities/app_api", "t:ocs/data/capabilities/app_api/version")),
    Probe("GET /ocs/v2.php/cloud/capabilities (alice)", "GET",
          "/ocs/v2.php/cloud/capabilities",
          show=("j:ocs/data/capabilities/core/pollinterval",
                "j:ocs/data/capabilities/core/webdav-root", "t:ocs/data/capabilities/core/user",
                "keys:ocs/data/capabilities/app_api", "t:ocs/data/capabilities/app_api/loglevel")),
    Probe("GET /ocs/v2.php/cloud/user", "GET", "/ocs/v2.php/cloud/user",
          show=("keys:ocs/data", "j:ocs/data/id", "t:ocs/data/display-name",
                "j:ocs/data/language", "j:ocs/data/locale", "t:ocs/data/quota",
                "j:ocs/data/backend")),
    Probe("GET /ocs/v2.php/cloud/user (no auth)", "GET", "/ocs/v2.php/cloud/user", who="none",
          show=("h:WWW-Authenticate",)),
    Probe(f"POST /ocs/v1.php{AI} (no auth)", "POST", f"/ocs/v1.php{AI}", who="none",
          body={"provider": {}}, show=("j:ocs/meta/status",)),
    Probe(f"POST /ocs/v2.php{AI} (no auth)", "POST", f"/ocs/v2.php{AI}", who="none",
          body={"provider": {}}),
    Probe(f"POST /ocs/v2.php{AI} (alice, user credentials)", "POST", f"/ocs/v2.php{AI}",
          body={"provider": {}}),
    Probe(f"POST /ocs/v2.php{AI} (wrong ExApp secret)", "POST", f"/ocs/v2.php{AI}",
          who="exapp_wrong", body={"provider": {}}),
    Probe(f"DELETE /ocs/v2.php{AI} (no auth)", "DELETE", f"/ocs/v2.php{AI}?name=x", who="none"),
    Probe("POST /ocs/v1.php/apps/app_api/api/v1/log (no auth)", "POST",
          "/ocs/v1.php/apps/app_api/api/v1/log", who="none", body={"level": 1, "message": "x"}),
    Probe("GET tasks_provider/next (no auth)", "GET",
          V2 + "/tasks_provider/next?providerIds[]=x&taskTypeIds[]=core:text2text", who="none",
          show=("body:60",)),
    Probe("GET tasks_provider/next (alice)", "GET",
          V2 + "/tasks_provider/next?providerIds[]=x&taskTypeIds[]=core:text2text",
          show=("body:60",)),
    Probe("POST tasks_provider/1/result (wrong ExApp secret)", "POST",
          V2 + "/tasks_provider/1/result", who="exapp_wrong", body={"output": {}},
          show=("body:60",)),
    Probe("GET tasks_consumer/tasktypes (alice)", "GET", V2 + "/tasks_consumer/tasktypes",
          show=("body:60",)),
    Probe("GET tasks_provider/next (ExApp, nothing for it)", "GET",
          V2 + "/tasks_provider/next?providerIds[]=ncdev_exapp-reformulation"
          "&taskTypeIds[]=core:text2text:reformulation", who="exapp", show=("body:60",)),
    # item 4: task types as 34 ships them
    *[Probe(f"GET /tasktypes: {t}", "GET", V2 + "/tasktypes",
            show=(f"j:ocs/data/types/{t}/name", f"j:ocs/data/types/{t}/description",
                  f"j:ocs/data/types/{t}/isInternal",
                  f"keys:ocs/data/types/{t}/optionalInputShape",
                  f"keys:ocs/data/types/{t}/inputShapeDefaults",
                  f"j:ocs/data/types/{t}/inputShape/input/name")) for t in TYPES],
    Probe("GET /tasktypes: fields of core:text2text", "GET", V2 + "/tasktypes",
          show=("keys:ocs/data/types/core:text2text",)),
    Probe("GET /tasktypes XML: isInternal of headline", "GET", V2 + "/tasktypes", headers={},
          show=("x:isInternal",)),
    # item 5: ids and methods
    *[Probe(f"{m} /task/{raw}", m, f"{V2}/task/{raw}", show=("j:ocs/data",))
      for m in ("GET", "DELETE") for raw in ("abc", "-1", "999999", "%D9%A2", "1.5", "0x1")],
    *[Probe(f"POST /tasks/{raw}/cancel", "POST", f"{V2}/tasks/{raw}/cancel")
      for raw in ("abc", "-1", "999999", "%D9%A2")],
    Probe("GET /tasks/abc/file/1", "GET", f"{V2}/tasks/abc/file/1"),
    Probe("GET /tasks/999999/file/1", "GET", f"{V2}/tasks/999999/file/1"),
    Probe("GET /tasks/{t1}/file/abc", "GET", V2 + "/tasks/{t1}/file/abc"),
    Probe("GET /task/{t1} as bob", "GET", V2 + "/task/{t1}", who="bob"),
    Probe("DELETE /task/{t1} as bob", "DELETE", V2 + "/task/{t1}", who="bob"),
    Probe("HEAD /task/{t1}", "HEAD", V2 + "/task/{t1}", show=("h:Content-Type",)),
    Probe("HEAD /tasktypes", "HEAD", V2 + "/tasktypes", show=("h:Content-Type",)),
    Probe("HEAD /tasks", "HEAD", V2 + "/tasks"),
    Probe("HEAD /cloud/capabilities", "HEAD", "/ocs/v2.php/cloud/capabilities", who="none"),
    Probe("PUT /task/{t1}", "PUT", V2 + "/task/{t1}"),
    Probe("GET /task/{t1}.5 (not ASCII digits only)", "GET", V2 + "/task/{t1}.5"),
    Probe("GET /task/+{t1}", "GET", V2 + "/task/+{t1}"),
    Probe("GET /task/0{t1} (leading zero)", "GET", V2 + "/task/0{t1}",
          show=("is:ocs/data/task/id=t1",)),
    _sched("braces", "t7", app="my{app}"),
    Probe("GET /tasks/app/my%7Bapp%7D", "GET", V2 + "/tasks/app/my%7Bapp%7D",
          show=("nonempty:ocs/data/tasks", "j:ocs/data/tasks/0/appId")),
    Probe("GET /tasks/app/my{app} (raw braces)", "GET", V2 + "/tasks/app/my{{app}}",
          show=("nonempty:ocs/data/tasks",)),
    # item 6: sign-in
    Probe("GET /tasktypes (no credentials)", "GET", V2 + "/tasktypes", who="none",
          show=("h:WWW-Authenticate",)),
    Probe("GET /tasktypes (no credentials, X-Requested-With)", "GET", V2 + "/tasktypes",
          who="none", headers={**JSON, "X-Requested-With": "XMLHttpRequest"},
          show=("h:WWW-Authenticate",)),
    Probe("GET /tasktypes (alice, wrong password)", "GET", V2 + "/tasktypes",
          who="alice_wrong", show=("h:WWW-Authenticate",)),
    Probe("GET /tasktypes (alice, wrong password, X-Requested-With)", "GET", V2 + "/tasktypes",
          who="alice_wrong", headers={**JSON, "X-Requested-With": "XMLHttpRequest"},
          show=("h:WWW-Authenticate",)),
    Probe("GET /cloud/capabilities (alice, wrong password)", "GET",
          "/ocs/v2.php/cloud/capabilities", who="alice_wrong", show=("h:WWW-Authenticate",)),
    Probe("GET /tasktypes (unknown user)", "GET", V2 + "/tasktypes", who="nobody",
          show=("h:WWW-Authenticate",)),
    Probe("GET /tasktypes (Basic, not base64)", "GET", V2 + "/tasktypes", who="garbage",
          show=("h:WWW-Authenticate",)),
    Probe("GET /tasktypes (wrong Bearer)", "GET", V2 + "/tasktypes", who="bearer_wrong",
          show=("h:WWW-Authenticate",)),
    Probe("GET /ocs/v1.php/.../tasktypes (no credentials)", "GET", V1 + "/tasktypes",
          who="none", show=("h:WWW-Authenticate",)),
    Probe("GET /tasktypes (ALICE:<app password>)", "GET", V2 + "/tasktypes", who="ALICE"),
    Probe("GET /cloud/user (Alice:<app password>)", "GET", "/ocs/v2.php/cloud/user",
          who="Alice", show=("j:ocs/data/id",)),
    Probe("GET /task/{t1} (ALICE)", "GET", V2 + "/task/{t1}", who="ALICE",
          show=("j:ocs/data/task/userId",)),
    Probe("GET /tasktypes (alice, no OCS-APIRequest)", "GET", V2 + "/tasktypes",
          ocs_header=False, show=("body:40",)),
    # item 7: headers
    Probe("headers: GET /tasktypes", "GET", V2 + "/tasktypes",
          show=(*SEC_HEADERS, "h:X-User-Id")),
    Probe("headers: GET /tasktypes (401)", "GET", V2 + "/tasktypes", who="none",
          show=SEC_HEADERS),
    Probe("headers: GET /nonexistent (998)", "GET", V2 + "/nonexistent", show=SEC_HEADERS),
    Probe("headers: 412 CSRF", "GET", V2 + "/tasktypes", ocs_header=False, show=SEC_HEADERS),
]

_NEXT = (V2 + "/tasks_provider/next?providerIds[]=ncdev_exapp-reformulation"
         "&taskTypeIds[]=core:text2text:reformulation")
EXAPP: list[Probe] = [
    _sched("for the ExApp", "t8", "core:text2text:reformulation"),
    Probe("ExApp: GET tasks_provider/next (claims it)", "GET", _NEXT, who="exapp",
          show=("is:ocs/data/task/id=t8", "j:ocs/data/task/status", "keys:ocs/data/provider"),
          save="t8"),
    Probe("ExApp: POST progress 2.0 (out of range)", "POST",
          V2 + "/tasks_provider/{t8}/progress", who="exapp", body={"progress": 2.0},
          show=("body:80",)),
    Probe("ExApp: POST progress 0.25", "POST", V2 + "/tasks_provider/{t8}/progress",
          who="exapp", body={"progress": 0.25}, show=(f"j:{TASK}/progress", f"j:{TASK}/status")),
    Probe("ExApp: POST result with neither output nor error", "POST",
          V2 + "/tasks_provider/{t8}/result", who="exapp", body={}, show=("body:80",)),
    Probe("ExApp: POST result", "POST", V2 + "/tasks_provider/{t8}/result", who="exapp",
          body={"output": {"output": "first"}}, show=(f"j:{TASK}/status", f"j:{TASK}/output")),
    Probe("ExApp: POST result again (task already finished)", "POST",
          V2 + "/tasks_provider/{t8}/result", who="exapp",
          body={"output": {"output": "second"}}, show=(f"j:{TASK}/status", f"j:{TASK}/output")),
    Probe("GET /task/{t8} after both results", "GET", V2 + "/task/{t8}",
          show=(f"j:{TASK}/status", f"j:{TASK}/output", f"j:{TASK}/progress")),
    Probe("ExApp: POST result for task 999999", "POST", V2 + "/tasks_provider/999999/result",
          who="exapp", body={"output": {"output": "x"}}),
    Probe("ExApp: POST result for task abc", "POST", V2 + "/tasks_provider/abc/result",
          who="exapp", body={"output": {"output": "x"}}),
    Probe("ExApp: POST progress for task -1", "POST", V2 + "/tasks_provider/-1/progress",
          who="exapp", body={"progress": 0.5}),
    Probe("ExApp: GET tasks_provider/abc/file/1", "GET", V2 + "/tasks_provider/abc/file/1",
          who="exapp"),
    Probe("ExApp: GET tasks_consumer/task/abc", "GET", V2 + "/tasks_consumer/task/abc",
          who="exapp"),
]

LIMITS: list[Probe] = [
    Probe("POST /schedule as bob, 21st time in 120 s (stock limit 20)", "POST",
          V2 + "/schedule", who="bob", repeat=21, phase="limits",
          body={"type": "core:text2text:reformulation", "appId": "limit",
                "input": {"input": "x"}},
          show=("body:60", "h:Retry-After", "h:X-RateLimit-Limit")),
]

RUNNING: list[Probe] = [
    Probe("GET /task/{t2} (running)", "GET", V2 + "/task/{t2}",
          show=(f"j:{TASK}/status", f"t:{TASK}/progress", *_task_fields()[2:]),
          phase="running"),
    Probe("GET /task/{t2} (running) XML", "GET", V2 + "/task/{t2}", headers={},
          show=("x:status",), phase="running"),
]

FINISHED: list[Probe] = [
    Probe("GET /task/{t1} (finished)", "GET", V2 + "/task/{t1}", show=_task_fields(),
          phase="finished"),
    Probe("GET /task/{t1} (finished) XML", "GET", V2 + "/task/{t1}", headers={},
          show=("x:progress", "x:status"), phase="finished"),
    Probe("GET /task/{t2} (finished after progress)", "GET", V2 + "/task/{t2}",
          show=_task_fields(), phase="finished"),
    Probe("GET /task/{t4} (failed, user message)", "GET", V2 + "/task/{t4}",
          show=(*_task_fields(), f"j:{TASK}/userFacingErrorMessage"), phase="finished"),
    Probe("GET /task/{t3} (cancelled)", "GET", V2 + "/task/{t3}", show=_task_fields(),
          phase="finished"),
    Probe("GET /tasks?taskType=core:text2text (finished)", "GET",
          V2 + "/tasks?taskType=core:text2text",
          show=("nonempty:ocs/data/tasks", "t:ocs/data/tasks/0/progress"), phase="finished"),
    Probe("GET /task/{t6} (text2speech)", "GET", V2 + "/task/{t6}",
          show=(f"j:{TASK}/status", f"t:{TASK}/output/speech"), phase="finished"),
    Probe("headers: HEAD /tasks/{t6}/file/<speech> ", "HEAD",
          V2 + "/tasks/{t6}/file/{t6_file}", show=("h:Content-Type", *SEC_HEADERS),
          phase="finished"),
    Probe("GET /tasks/{t6}/file/<speech> (browser: no OCS-APIRequest)", "GET",
          V2 + "/tasks/{t6}/file/{t6_file}", ocs_header=False,
          show=("h:Content-Type", "h:Content-Length", "h:Cache-Control", "body:4"),
          phase="finished"),
    Probe("DELETE /task/{t1} (finished)", "DELETE", V2 + "/task/{t1}", show=("j:ocs/data",),
          phase="finished"),
    Probe("GET /task/{t1} (deleted)", "GET", V2 + "/task/{t1}", phase="finished"),
    Probe("DELETE /task/{t1} (again)", "DELETE", V2 + "/task/{t1}", show=("j:ocs/data",),
          phase="finished"),
]

PROBES: list[Probe] = SCHEDULED + EXAPP + RUNNING + FINISHED + LIMITS
