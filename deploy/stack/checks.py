#!/usr/bin/env python3
"""Checks of a running compose stack beyond ../shared/tools/compose-local/smoke.py (stdlib only).

  checks.py --project taskproc --base http://127.0.0.1:8080 --image taskproc:local-engines
            [--host-python .venv/bin/python]

Talks to the router on --base, to single containers with `docker exec`, and from short-lived
client containers on networks of their own. One PASS/FAIL/SKIP line per check; exit 1 on a FAIL.
  - Redis runs as its own user, with maxmemory set and noeviction;
  - /metrics is not served through the router (it is on each container's port);
  - the image offers every local engine `make run` offers here (the same provider ids),
    /tasktypes lists each of their types, and one task of each type succeeds;
  - an ExApp registration through one api replica is offered by the other one at once;
  - no file is left in the files volume after its task is deleted through the api;
  - ten bad logins from one client do not lock another client out of the same account.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import struct
import subprocess
import sys
import time
import uuid
import zlib
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

OCS = "/ocs/v2.php/taskprocessing"
REGISTER = "/ocs/v2.php/apps/app_api/api/v1/ai_provider/task_processing"
FAILED: list[str] = []
PROVIDERS_SNIPPET = (
    "from shared.settings import Settings\n"
    "from services.dispatcher.engines.local import local_providers\n"
    "active, _ = local_providers(Settings.from_env())\n"
    "print(' '.join(sorted(p.spec.id + '=' + p.spec.task_type for p in active)))\n")


def check(name: str, ok: bool, detail: object = "") -> bool:
    print(f"{'PASS' if ok else 'FAIL'} {name}" + (f": {detail}" if detail != "" else ""),
          flush=True)
    if not ok:
        FAILED.append(name)
    return ok


def sh(*args: str, timeout: float = 120) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True,
                          timeout=timeout).stdout


def containers(project: str, service: str) -> list[str]:
    out = sh("docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={project}",
             "--filter", f"label=com.docker.compose.service={service}")
    return sorted(out.split())


def call(method: str, url: str, headers: dict[str, str], body: bytes | None = None,
         ctype: str | None = None) -> tuple[int, bytes]:
    h = {"OCS-APIRequest": "true", **headers, **({"Content-Type": ctype} if ctype else {})}
    req = urllib.request.Request(url, data=body, headers=h, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def ocs(method: str, url: str, headers: dict[str, str], data: object = None) -> tuple[int, Any]:
    body = json.dumps(data).encode() if data is not None else None
    sep = "&" if "?" in url else "?"
    st, raw = call(method, f"{url}{sep}format=json", headers, body,
                   "application/json" if body else None)
    try:
        return st, json.loads(raw)["ocs"]["data"]
    except (ValueError, KeyError, TypeError):
        return st, raw[:200]


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def cli(project: str, *args: str) -> str:
    return sh("docker", "exec", containers(project, "api")[0], "taskproc", *args)


def redis_checks(project: str) -> None:
    (rid,) = containers(project, "redis")
    rows = sh("docker", "top", rid, "-o", "pid,user,args").splitlines()[1:]
    users = {r.split()[1] for r in rows if "redis-server" in r}
    check("Redis does not run as root", bool(users) and "root" not in users, users)
    conf = sh("docker", "exec", rid, "sh", "-c", 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli '
              "CONFIG GET maxmemory; REDISCLI_AUTH=\"$REDIS_PASSWORD\" redis-cli "
              "CONFIG GET maxmemory-policy").split()
    values = dict(zip(conf[::2], conf[1::2], strict=False))
    check("Redis has a maxmemory and noeviction",
          int(values.get("maxmemory", "0")) > 0 and values.get("maxmemory-policy") == "noeviction",
          values)


def metrics_checks(project: str, base: str) -> None:
    for path in ("/metrics", "/metrics/"):
        st, _ = call("GET", base + path, {})
        check(f"router does not serve {path}", st == 404, f"HTTP {st}")
    api = containers(project, "api")[0]
    out = sh("docker", "exec", api, "python", "-c", "import urllib.request as u; print(u.urlopen("
             "'http://127.0.0.1:8080/metrics', timeout=5).read().decode().count('taskproc_'))")
    check("the api still serves /metrics on its own port", int(out) > 0, f"{out.strip()} lines")
    st, raw = call("GET", base + "/readyz", {})
    check("/readyz says only its status", st == 200 and json.loads(raw) == {"status": "ok"},
          raw[:80])


def engine_checks(project: str, base: str, user: dict[str, str], host_python: str) -> None:
    disp = containers(project, "dispatcher")[0]
    image = set(sh("docker", "exec", disp, "python", "-c", PROVIDERS_SNIPPET,
                   timeout=300).split())
    print(f"INFO engines image offers {len(image)} local providers: {sorted(image)}")
    if host_python:
        host = set(sh(host_python, "-c", PROVIDERS_SNIPPET, timeout=300).split())
        check("engines image offers exactly the local providers `make run` offers here",
              image == host, f"only in image: {sorted(image - host)}, "
              f"missing from image: {sorted(host - image)}")
    else:
        print("SKIP comparison with `make run`: no --host-python")
    st, data = ocs("GET", f"{base}{OCS}/tasktypes", user)
    offered = set(data.get("types", {})) if st == 200 and isinstance(data, dict) else set()
    wanted = {p.split("=", 1)[1] for p in image}
    check("/tasktypes lists the type of every engine in the image", wanted <= offered,
          f"missing: {sorted(wanted - offered)}")
    run_every_type(base, user, data.get("types", {}) if isinstance(data, dict) else {},
                   wanted & offered)


SAMPLE_TEXT = ("The harbour town woke early. Fishing boats left before dawn and came back at noon. "
               "Markets opened along the quay and sold the morning catch.")


def white_png(w: int = 64, h: int = 32) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + b"\xff" * w * 3 for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def upload(base: str, user: dict[str, str], name: str, payload: bytes) -> int | None:
    b = uuid.uuid4().hex
    body = (f"--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + payload + \
        f"\r\n--{b}--\r\n".encode()
    st, raw = call("POST", f"{base}{OCS}/files?format=json", user, body,
                   f"multipart/form-data; boundary={b}")
    return int(json.loads(raw)["ocs"]["data"]["fileId"]) if st == 201 else None


def sample_inputs(spec: dict[str, Any], files: dict[str, int | None]) -> dict[str, Any]:
    """A valid input for a task type from its /tasktypes entry: text, enums (English to
    Spanish for translations), the uploaded WAV and PNG for audio, image and file slots."""
    out: dict[str, Any] = {}
    enums = spec.get("inputShapeEnumValues") or {}
    for slot, shape in (spec.get("inputShape") or {}).items():
        kind = shape["type"]
        values = [e["value"] for e in enums.get(slot, [])]
        if kind == "Enum":
            prefer = {"origin_language": "en", "target_language": "es"}.get(slot)
            out[slot] = prefer if prefer in values else values[0]
        elif kind == "Audio":
            out[slot] = files["audio"]
        elif kind in ("Image", "File"):
            out[slot] = files["image"]
        elif kind in ("ListOfImages", "ListOfFiles"):
            out[slot] = [files["image"]]
        elif kind == "ListOfTexts":
            out[slot] = []
        elif kind == "Number":
            out[slot] = 1
        else:
            out[slot] = SAMPLE_TEXT
    return out


def run_every_type(base: str, user: dict[str, str], types: dict[str, Any],
                   wanted: set[str]) -> None:
    """One task of each engine type, with sample inputs; each must succeed."""
    files: dict[str, int | None] = {"image": upload(base, user, "white.png", white_png())}
    st, data = ocs("POST", f"{base}{OCS}/schedule", user, {
        "type": "core:text2speech", "appId": "checks", "input": {"input": "Hello there."}})
    if st == 200:
        speech = wait_final(base, user, data["task"]["id"])
        fid = (speech.get("output") or {}).get("speech")
        st, wav = call("GET", f"{base}{OCS}/tasks/{speech['id']}/file/{fid}", user)
        files["audio"] = upload(base, user, "hello.wav", wav) if st == 200 else None
    # One at a time: the text model's tasks each take a few seconds of both cores on an idle
    # machine, and several at once on two cores only starve each other (and their leases).
    # Ten minutes for all of them, so a stuck engine cannot hold CI for long.
    deadline = time.monotonic() + 600
    for ttype in sorted(wanted):
        st, data = ocs("POST", f"{base}{OCS}/schedule", user, {
            "type": ttype, "appId": "checks",
            "input": sample_inputs(types.get(ttype, {}), files)})
        if not check(f"schedule {ttype}", st == 200, "" if st == 200 else f"HTTP {st} {data}"):
            continue
        t0 = time.monotonic()
        task = wait_final(base, user, data["task"]["id"], max(5.0, deadline - t0))
        out = json.dumps(task.get("output"))[:70]
        check(f"{ttype} task successful", task.get("status") == "STATUS_SUCCESSFUL",
              f"{task.get('status')} in {time.monotonic() - t0:.1f}s: {out}")


def wait_final(base: str, user: dict[str, str], tid: int,
               seconds: float = 180) -> dict[str, Any]:
    end, task = time.monotonic() + seconds, {}
    while time.monotonic() < end:
        st, data = ocs("GET", f"{base}{OCS}/task/{tid}", user)
        task = data["task"] if st == 200 else {}
        if task.get("status") in ("STATUS_SUCCESSFUL", "STATUS_FAILED", "STATUS_CANCELLED"):
            break
        time.sleep(0.5)
    return task


def until(fn: Callable[[], bool], seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if fn():
            return True
        time.sleep(0.5)
    return fn()


def orphans(project: str) -> list[str]:
    """Files in the volume whose id has no Redis record (bytes nobody can reach or delete)."""
    ids = sh("docker", "exec", containers(project, "fileproxy")[0], "sh", "-c",
             "find /data/files -type f ! -path '*/tmp/*' -printf '%f\\n'").split()
    if not ids:
        return []
    (rid,) = containers(project, "redis")
    keys = " ".join(f"tp:file:{i}" for i in ids)
    script = "".join(f'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli EXISTS {k};' for k in keys.split())
    exists = sh("docker", "exec", rid, "sh", "-c", script).split()
    return [i for i, e in zip(ids, exists, strict=True) if e != "1"]


def delete_checks(project: str, base: str, user: dict[str, str]) -> None:
    st, data = ocs("POST", f"{base}{OCS}/schedule", user, {
        "type": "core:text2speech", "appId": "checks", "input": {"input": "Delete me."}})
    if not check("schedule text2speech for the delete check", st == 200, f"HTTP {st} {data}"):
        return
    task = wait_final(base, user, data["task"]["id"])
    fid = (task.get("output") or {}).get("speech")
    if not check("text2speech output stored", isinstance(fid, int), task.get("status")):
        return
    where = f"/data/files/{fid % 256:02x}/{fid}"
    proxy = containers(project, "fileproxy")[0]

    def present() -> bool:
        return subprocess.run(["docker", "exec", proxy, "test", "-e", where],
                              check=False).returncode == 0

    check("the output's bytes are in the files volume", present(), where)
    st, _ = ocs("DELETE", f"{base}{OCS}/task/{task['id']}", user)
    check("delete the task through the router (the api has no files volume)", st == 200,
          f"HTTP {st}")
    check("its output's bytes leave the files volume", until(lambda: not present(), 30), where)
    left: list[str] = []

    def none_left() -> bool:
        left[:] = orphans(project)
        return not left

    check("no file in the volume lacks its Redis record (nothing orphaned)",
          until(none_left, 30), left)


def registration_checks(project: str, image: str, user: dict[str, str], app: str,
                        secret: str) -> None:
    """From a client on the compose network: warm replica B's cache, register through A,
    then at once read /tasktypes and schedule through B (and the other way round)."""
    apis = containers(project, "api")
    ips = [sh("docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} "
              "{{end}}", c).split()[0] for c in apis]
    if not check("two api replicas", len(ips) >= 2, ips):
        return
    net = sh("docker", "inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} "
             "{{end}}", apis[0]).split()[0]
    program = REGISTRATION_CLIENT % {"ips": ips[:2], "user": user, "secret": secret, "app": app,
                                     "register": REGISTER, "ocs": OCS}
    out = subprocess.run(["docker", "run", "--rm", "--network", net, "--entrypoint", "python",
                          image, "-c", program], capture_output=True, text=True, timeout=120,
                         check=False)
    print(out.stdout.strip() or out.stderr.strip()[-800:])
    check("a registration is offered by the other api replica at once",
          out.returncode == 0 and "RESULT ok" in out.stdout)


REGISTRATION_CLIENT = r'''
import base64, json, urllib.request, urllib.error
IPS, USER = %(ips)r, %(user)r
APP = {"OCS-APIRequest": "true", "EX-APP-ID": %(app)r, "EX-APP-VERSION": "1.0.0",
       "AA-VERSION": "32.0.0",
       "AUTHORIZATION-APP-API": base64.b64encode(b":" + %(secret)r.encode()).decode()}
def call(method, url, headers, data=None):
    body = json.dumps(data).encode() if data is not None else None
    h = {"OCS-APIRequest": "true", **headers, **({"Content-Type": "application/json"} if body else {})}
    try:
        with urllib.request.urlopen(urllib.request.Request(url + "?format=json", body, h, method=method), timeout=30) as r:
            return r.status, json.loads(r.read())["ocs"]["data"]
    except urllib.error.HTTPError as e:
        return e.code, e.read()[:200]
ok = True
for n, (a, b) in enumerate([(IPS[0], IPS[1]), (IPS[1], IPS[0])]):
    t = "%(app)s:rep%%d" %% n
    call("GET", "http://%%s:8080%(ocs)s/tasktypes" %% b, USER)  # B caches a registry without t
    reg = {"provider": {"id": "%(app)s-rep%%d" %% n, "name": "rep", "task_type": t},
           "customTaskType": {"id": t, "name": "Rep", "description": "checks",
               "input_shape": [{"name": "input", "description": "t", "shape_type": 1}],
               "output_shape": [{"name": "output", "description": "t", "shape_type": 1}]}}
    st, _ = call("POST", "http://%%s:8080%(register)s" %% a, APP, reg)
    st2, types = call("GET", "http://%%s:8080%(ocs)s/tasktypes" %% b, USER)
    st3, doc = call("POST", "http://%%s:8080%(ocs)s/schedule" %% b, USER,
                    {"type": t, "appId": "checks", "input": {"input": "x"}})
    seen = isinstance(types, dict) and t in types.get("types", {})
    print("register via %%s: HTTP %%s; at once via %%s: offered=%%s, schedule HTTP %%s" %% (a, st, b, seen, st3))
    ok = ok and st == 200 and seen and st3 == 200
print("RESULT", "ok" if ok else "FAILED")
'''


LOGIN_CLIENT = r'''
import base64, sys, urllib.request, urllib.error
url, user, pw, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
codes = []
for _ in range(n):
    h = {"OCS-APIRequest": "true",
         "Authorization": "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=h), timeout=30) as r:
            codes.append(r.status)
    except urllib.error.HTTPError as e:
        codes.append(e.code)
print(" ".join(map(str, codes)))
'''


CLIENTS_SUBNET = "172.31.243.0/24"


def login_checks(project: str, image: str, checkout: str, user: str, password: str) -> None:
    """Two clients with addresses of their own reach the router on a network made for them."""
    if not re.search(r"trusted_proxies", "".join(
            open(f"{checkout}/{f}").read() for f in ("shared/settings.py",))):
        print("SKIP ten bad logins: this build has no TASKPROC_TRUSTED_PROXIES yet")
        return
    (router,) = containers(project, "router")
    net = f"{project}_checks_clients"
    subprocess.run(["docker", "network", "rm", net], capture_output=True, check=False)
    # Fixed addresses for the two clients (the router takes one from the upper half), so the
    # throttle sees two clients, not one address reused by the second container.
    sh("docker", "network", "create", "--subnet", CLIENTS_SUBNET, "--ip-range",
       CLIENTS_SUBNET.replace(".0/24", ".128/25"), net)
    try:
        sh("docker", "network", "connect", "--alias", "router", net, router)
        url = f"http://router:8080{OCS}/tasktypes?format=json"

        def client(ip: str, pw: str, n: int) -> list[int]:
            out = sh("docker", "run", "--rm", "--network", net, "--ip", ip, "--entrypoint",
                     "python", image, "-c", LOGIN_CLIENT, url, user, pw, str(n))
            return [int(c) for c in out.split()]

        prefix = CLIENTS_SUBNET.rsplit(".", 1)[0]
        bad = client(f"{prefix}.11", "wrong-password", 11)
        check("ten bad logins from one client: 401, then that client is throttled",
              bad[:10] == [401] * 10 and bad[10] == 429, bad)
        # A new app password, which no api replica has cached: its check goes through the
        # throttle, as another client's first sign-in would.
        fresh = cli(project, "user", "token", user).strip().splitlines()[-1].strip()
        good = client(f"{prefix}.12", fresh, 1)
        check("another client logs in to the same account at once", good == [200], good)
    finally:
        subprocess.run(["docker", "network", "disconnect", net, router], capture_output=True,
                       check=False)
        subprocess.run(["docker", "network", "rm", net], capture_output=True, check=False)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--project", default="taskproc")
    ap.add_argument("--base", default="http://127.0.0.1:8080")
    ap.add_argument("--image", required=True)
    ap.add_argument("--checkout", default=".")
    ap.add_argument("--host-python", default="")
    a = ap.parse_args()
    uid = f"checks_{uuid.uuid4().hex[:6]}"  # new names: a rerun on the same Redis works too
    password = cli(a.project, "user", "add", uid).split("app password: ")[1].strip()
    secret = cli(a.project, "exapp", "add", uid).split("secret: ")[1].strip()
    user = basic(uid, password)
    redis_checks(a.project)
    metrics_checks(a.project, a.base)
    engine_checks(a.project, a.base, user, a.host_python)
    registration_checks(a.project, a.image, user, uid, secret)
    delete_checks(a.project, a.base, user)
    login_checks(a.project, a.image, a.checkout, uid, password)
    print(f"RESULT checks: {'ok' if not FAILED else 'FAILED: ' + ', '.join(FAILED)}")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
