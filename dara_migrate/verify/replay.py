"""Replay what a browser does against N workers of one app and explain each cross-worker failure.

The browser's requests, in its order: create a session and check it on another worker; read the
route map from the bootstrap JSON of the HTML page; load each route's content; then, for every
py_component, derived variable, server variable, store and action in served content, call its
endpoint with the values the client sends first (defaults), following the content that
py_components return to a bounded depth. Each id is sent to a worker other than the one whose
content named it, and no two consecutive requests go to the same worker when there is a choice.

The same request is also sent to the worker that named the id (the control): a request that fails
there too is an error of the app on any worker, not a cross-worker failure. A cross-worker
failure is explained by the first id of the request the asked worker does not know, looked up in
the journal of the worker that named it (its construction site), and by the audit finding on that
site. Sessions are checked apart: the id requests carry a session of the worker they go to.
"""

from __future__ import annotations

import http.client
import json
import re
import secrets
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from dara_migrate.verify.serve import ServedAuth, Worker

Status = Literal["failing", "acknowledged", "pending"]

REPLAY_VERSION = 1
KINDS = ("session", "route", "py_component", "derived_variable", "server_variable", "store",
         "action")
MAX_REQUESTS = 600
"""Id requests (each with its control) one replay sends at most."""
CONCURRENT_REQUESTS = 8
"""Requests in flight at once, as a browser loading a page has several."""
MAX_DEPTH = 3
"""How deep py_components returned by py_components are followed."""
REQUEST_TIMEOUT = 30.0
SESSION_COOKIE = "dara_session_token"

# Audit rules that explain an unknown id, per journal kind, most specific first.
_ID_RULES = {
    "derived_variable": ("DM301", "DM104", "DM106", "DM102", "DM101"),
    "server_variable": ("DM301", "DM104", "DM106", "DM102", "DM101"),
    "backend_store": ("DM301", "DM104", "DM106", "DM102", "DM101"),
    "stream_variable": ("DM301", "DM104", "DM106", "DM102", "DM101"),
    "route": ("DM108",),
    "action": ("DM301", "DM105", "DM302"),
    "py_component": ("DM301", "DM302", "DM303"),
}
# The rule that explains an app-owned unknown id when no finding sits on its site.
_DEFAULT_RULE = {"derived_variable": "DM101", "server_variable": "DM101",
                 "backend_store": "DM101", "stream_variable": "DM101", "route": "DM108",
                 "action": "DM105"}
_JOURNAL_KIND = {"store": "backend_store"}
_DARA_DATA = re.compile(r'<script[^>]*id="__DARA_DATA__"[^>]*>(.*?)</script>', re.S)


@dataclass(frozen=True, slots=True)
class SiteFinding:
    """An audit finding at ``path:line`` (relative to the app root) with its status."""

    rule: str
    path: str
    line: int
    status: str


@dataclass(frozen=True, slots=True)
class Failure:
    """One request that failed on a worker other than the one that named its id."""

    kind: str
    id: str
    http_status: int
    origin: int
    """The worker whose content named the id (for a session: where it was created)."""
    target: int
    """The worker that was asked and failed."""
    status: Status
    rule: str | None
    cause_kind: str | None = None
    """The kind and id of the first id of the request the asked worker does not know."""
    cause_id: str | None = None
    qualname: str | None = None
    path: str | None = None
    line: int | None = None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "id": self.id, "http_status": self.http_status,
            "origin_worker": self.origin, "target_worker": self.target,
            "status": self.status, "rule": self.rule,
            "cause": ({"kind": self.cause_kind, "id": self.cause_id}
                      if self.cause_id is not None else None),
            "qualname": self.qualname, "path": self.path, "line": self.line,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class AppError:
    """A request that failed on the worker that named its id too: not a cross-worker failure."""

    kind: str
    id: str
    http_status: int
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "http_status": self.http_status,
                "detail": self.detail}


@dataclass
class ReplayResult:
    """What the replay sent, per kind, and every failure with its explanation."""

    workers: int
    secret: str
    """Where the workers' JWT_SECRET came from, or that there was none."""
    auth: str = ""
    """The app's auth config and how the replay logged in (never the password)."""
    requests: Counter[str] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    errors: list[AppError] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    """Items not sent because a dynamic kwarg is of a kind the replay cannot give a value."""
    truncated: bool = False
    pids: list[int] = field(default_factory=list)

    def by_status(self, status: Status) -> list[Failure]:
        return [f for f in self.failures if f.status == status]

    @property
    def exit_code(self) -> int:
        """0 when no unacknowledged cross-worker request failed, else 1."""
        return 1 if self.by_status("failing") else 0

    def tally(self, kind: str) -> dict[str, int]:
        counts = Counter(f.status for f in self.failures if f.kind == kind)
        return {
            "requests": self.requests[kind],
            "failures": counts["failing"],
            "acknowledged": counts["acknowledged"],
            "pending": counts["pending"],
            "errors": sum(1 for e in self.errors if e.kind == kind),
            "skipped": self.skipped[kind],
        }

    @property
    def verdict(self) -> str:
        failing = len(self.by_status("failing"))
        if failing:
            requests = "request" if failing == 1 else "requests"
            return (f"{failing} cross-worker {requests} failed on {self.workers} workers;"
                    " the rule named with each explains it")
        total = sum(self.requests.values())
        return f"{total} requests across {self.workers} workers: no unacknowledged failure"

    def to_json(self) -> dict[str, Any]:
        return {
            "version": REPLAY_VERSION,
            "workers": self.workers,
            "jwt_secret": self.secret,
            "auth": self.auth,
            "kinds": {kind: self.tally(kind) for kind in KINDS},
            "failures": [f.to_json() for f in self.by_status("failing")],
            "acknowledged": [f.to_json() for f in self.by_status("acknowledged")],
            "pending": [f.to_json() for f in self.by_status("pending")],
            "errors": [e.to_json() for e in self.errors],
            "truncated": self.truncated,
            "verdict": self.verdict,
            "exit_code": self.exit_code,
        }


@dataclass(frozen=True, slots=True)
class _Response:
    status: int
    body: bytes

    @property
    def detail(self) -> str:
        return self.body.decode("utf-8", "replace").strip()[:200]


@dataclass(frozen=True, slots=True)
class _Item:
    """One id found in served content, and the request the browser makes for it."""

    kind: str
    id: str
    method: str
    path: str
    body: Any
    references: tuple[tuple[str, str], ...]
    """(journal kind, id) of every id the request makes the server look up, primary first."""


class Replay:
    """Sends the browser's requests to the workers and collects the result."""

    def __init__(self, workers: Sequence[Worker], findings: Sequence[SiteFinding],
                 secret: str, secret_shared: bool, deadline: float,
                 login: str | None = None) -> None:
        self.workers = list(workers)
        self.findings = findings
        self.login = login  # the user `--login` names; None: a basic auth config's first
        self.secret_shared = secret_shared
        self.deadline = deadline
        self.result = ReplayResult(workers=len(self.workers), secret=secret,
                                   pids=[w.pid for w in self.workers if w.pid is not None])
        self._cookies: dict[int, str] = {}
        self._channel = "dara-migrate-" + secrets.token_hex(4)
        self._last_target: int | None = None
        self._rotation = 0
        self._sent: set[tuple[str, str, str]] = set()
        self._skipped_seen: set[str] = set()

    def run(self) -> ReplayResult:
        """The whole replay; never raises for an HTTP failure, only records it."""
        for worker in self.workers:
            self._cookies[worker.number] = self._create_session(worker)
        self._check_sessions()
        first = self.workers[0]
        page = self._send(first, "GET", "/", None)
        match = _DARA_DATA.search(page.body.decode("utf-8", "replace")) if page.status == 200 \
            else None
        if match is None:
            raise ReplayError(f"worker 1 served no bootstrap data at / (HTTP {page.status})")
        router = json.loads(match.group(1)).get("router") or {}
        queue: list[tuple[_Item, int, int]] = [
            (_route_item(route_id, self._channel), first.number, 0)
            for route_id in _route_ids(router)
        ]
        with ThreadPoolExecutor(max_workers=CONCURRENT_REQUESTS) as pool:
            while queue:
                batch = self._next_batch(queue)
                # The browser fetches a page's items in parallel too; each answer is read in
                # the order the items were found, so the report does not depend on timing.
                exchanges = list(pool.map(lambda entry: self._exchange(*entry[:3]), batch))
                for (item, origin, target, depth), (crossed, control) in zip(
                        batch, exchanges, strict=True):
                    served = self._record(item, origin, target, crossed, control)
                    # Only pages and py_components serve content that names more ids.
                    if served is not None and item.kind in ("route", "py_component") \
                            and depth < MAX_DEPTH:
                        content, server = served
                        next_depth = depth if item.kind == "route" else depth + 1
                        queue.extend((found, server, next_depth)
                                     for found in self._items_in(content))
        return self.result

    def _next_batch(self, queue: list[tuple[_Item, int, int]]
                    ) -> list[tuple[_Item, int, Worker, int]]:
        """Up to CONCURRENT_REQUESTS new items from the queue, each with the worker to ask."""
        batch: list[tuple[_Item, int, Worker, int]] = []
        while queue and len(batch) < CONCURRENT_REQUESTS:
            if len(self._sent) >= MAX_REQUESTS or time.monotonic() > self.deadline:
                self.result.truncated = True
                queue.clear()
                break
            item, origin, depth = queue.pop(0)
            instance = item.body.get("uid") if isinstance(item.body, dict) else None
            key = (item.kind, item.id, str(instance))
            if key not in self._sent:
                self._sent.add(key)
                batch.append((item, origin, self._pick_target(origin), depth))
        return batch

    def _create_session(self, worker: Worker) -> str:
        """Log in to ``worker`` as the browser's login form would for the app's auth config."""
        auth = worker.auth or ServedAuth("DefaultAuthConfig", "none")
        body: dict[str, str] = {}
        if auth.login == "basic" and auth.users:
            username, password = self._credentials(auth)
            body = {"username": username, "password": password}
            self.result.auth = f"{auth.auth_config}, logged in as {username!r}"
        elif self.login is not None:
            raise ReplayError(
                f"--login {self.login!r}: the app's auth {auth.auth_config} has no users to log"
                " in as (--login picks a user of BasicAuthConfig or MultiBasicAuthConfig)")
        else:
            self.result.auth = f"{auth.auth_config}, no credentials"
        response = self._send(worker, "POST", "/api/auth/session", body)
        cookie = response.cookie
        if response.status == 200 and cookie is not None:
            return cookie
        if auth.login == "unsupported":
            raise ReplayError(
                f"worker {worker.number} gave no session: the app's auth {auth.auth_config} needs"
                " a login verify --workers cannot make (it logs in to the default auth,"
                " BasicAuthConfig and MultiBasicAuthConfig)")
        # A server may echo the request body in its error; the password must not be shown.
        detail = response.detail.replace(body["password"], "***") if body.get("password") \
            else response.detail
        raise ReplayError(
            f"worker {worker.number} gave no session (HTTP {response.status}: {detail})"
            + (f" for user {body['username']!r} of {auth.auth_config}" if body
               else f" with {auth.auth_config} and no credentials"))

    def _credentials(self, auth: ServedAuth) -> tuple[str, str]:
        """The user `--login` names (else the config's first) and its password."""
        if self.login is None:
            return auth.users[0]
        for username, password in auth.users:
            if username == self.login:
                return username, password
        count = len(auth.users)
        raise ReplayError(f"--login {self.login!r}: the app's {auth.auth_config} has no such user"
                          f" (it has {count} user{'' if count == 1 else 's'})")

    def _check_sessions(self) -> None:
        origin = self.workers[0]
        for target in self.workers[1:]:
            self.result.requests["session"] += 1
            response = self._send(target, "POST", "/api/auth/verify-session", None,
                                  cookie=self._cookies[origin.number])
            if response.status == 200:
                continue
            rule = "DM201" if self.secret_shared else "DM701"
            # The rule's finding is at the app's builder: the site to change.
            site = next((f for f in self.findings if f.rule == rule), None)
            self.result.failures.append(Failure(
                kind="session", id="dara_session_token", http_status=response.status,
                origin=origin.number, target=target.number,
                status=self._rule_status(rule), rule=rule, detail=response.detail,
                path=site.path if site else None, line=site.line if site else None))

    def _exchange(self, item: _Item, origin: int,
                  target: Worker) -> tuple[_CookieResponse, _CookieResponse | None]:
        """Send ``item`` to ``target``; when that fails, also to ``origin`` (the control)."""
        crossed = self._send(target, item.method, item.path, item.body)
        if crossed.status == 200:
            return crossed, None
        return crossed, self._send(self._worker(origin), item.method, item.path, item.body)

    def _record(self, item: _Item, origin: int, target: Worker, crossed: _Response,
                control: _Response | None) -> tuple[Any, int] | None:
        """Count and explain one exchange; the content it served and which worker served it."""
        self.result.requests[item.kind] += 1
        if control is None:
            return _content(crossed), target.number
        if control.status != 200:
            self.result.errors.append(AppError(item.kind, item.id, control.status,
                                               control.detail))
            return None
        self.result.failures.append(self._explain(item, crossed, self._worker(origin), target))
        return _content(control), origin

    def _explain(self, item: _Item, response: _Response, source: Worker,
                 target: Worker) -> Failure:
        known = {(d.get("kind"), _unquoted(d.get("id"))) for d in target.read_journal()
                 if d.get("event") == "definition"}
        cause = next((ref for ref in item.references
                      if (ref[0], _unquoted(ref[1])) not in known), None)
        base = Failure(kind=item.kind, id=item.id, http_status=response.status,
                       origin=source.number, target=target.number, status="failing",
                       rule=None, detail=response.detail)
        if cause is None:
            return base
        cause_kind, cause_id = cause
        definition, at_request = _journal_entry(source.read_journal(), cause_kind, cause_id)
        if definition is None:
            return replace(base, rule=_DEFAULT_RULE.get(cause_kind), cause_kind=cause_kind,
                           cause_id=cause_id)
        rule, status = self._site_rule(cause_kind, definition, at_request)
        return replace(base, status=status, rule=rule, cause_kind=cause_kind, cause_id=cause_id,
                       qualname=definition.get("qualname") or None,
                       path=definition.get("path"), line=definition.get("line"))

    def _site_rule(self, kind: str, definition: dict[str, Any],
                   at_request: bool) -> tuple[str | None, Status]:
        path, line = definition.get("path"), definition.get("line")
        on_site = []
        if path is not None and line is not None:
            end_line = definition.get("end_line") or line
            on_site = [f for f in self.findings if f.path == path and line <= f.line <= end_line]
        rule = next((r for r in _ID_RULES.get(kind, ()) if any(f.rule == r for f in on_site)),
                    None)
        status = _finding_status([f for f in on_site if f.rule == rule]) if rule else "failing"
        nested = "<locals>" in str(definition.get("qualname"))
        if definition.get("owner") == "app" or (at_request and nested):
            return rule or ("DM301" if at_request else _DEFAULT_RULE.get(kind)), status
        # dara-core 1.x names these ids itself: no app change makes them stable there, so the
        # rule only says what a Dara with the distributed runtime would still need.
        if rule is None and at_request and kind == "py_component":
            rule = "DM303"
        return rule, "acknowledged" if status == "acknowledged" else "pending"

    def _rule_status(self, rule: str) -> Status:
        found = [f for f in self.findings if f.rule == rule]
        return _finding_status(found) if found else "failing"

    def _pick_target(self, origin: int) -> Worker:
        """The next worker in rotation that did not name the id and was not asked last."""
        count = len(self.workers)
        order = [self.workers[(self._rotation + k) % count] for k in range(count)]
        others = [w for w in order if w.number != origin]
        choice = next((w for w in others if w.number != self._last_target), others[0])
        self._rotation = choice.number % count
        self._last_target = choice.number
        return choice

    def _worker(self, number: int) -> Worker:
        return self.workers[number - 1]

    def _items_in(self, content: Any) -> Iterator[_Item]:
        for node_uid, kind in _skipped(content):
            if node_uid not in self._skipped_seen:
                self._skipped_seen.add(node_uid)
                self.result.skipped[kind] += 1
        yield from _find_items(content, self._channel)

    def _send(self, worker: Worker, method: str, path: str, body: Any,
              cookie: str | None = None) -> _CookieResponse:
        headers = {"Accept": "application/json"}
        session = cookie if cookie is not None else self._cookies.get(worker.number)
        if session is not None:
            headers["Cookie"] = f"{SESSION_COOKIE}={session}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        connection = http.client.HTTPConnection("127.0.0.1", worker.port,
                                                timeout=REQUEST_TIMEOUT)
        try:
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            data = response.read()
            cookies = response.headers.get_all("Set-Cookie") or []
            return _CookieResponse(response.status, data, _session_cookie(cookies))
        except (OSError, http.client.HTTPException) as error:
            return _CookieResponse(0, f"no answer: {error}".encode(), None)
        finally:
            connection.close()


@dataclass(frozen=True, slots=True)
class _CookieResponse(_Response):
    cookie: str | None


class ReplayError(Exception):
    """The replay could not start (no session, a `--login` user the app does not have, no
    bootstrap data)."""


def _finding_status(findings: Sequence[SiteFinding]) -> Status:
    if any(f.status == "pending" for f in findings):
        return "pending"
    if all(f.status == "acknowledged" for f in findings):
        return "acknowledged"
    return "failing"


def _session_cookie(headers: Sequence[str]) -> str | None:
    for header in headers:
        name, _, rest = header.partition("=")
        if name.strip() == SESSION_COOKIE:
            return rest.split(";", 1)[0]
    return None


def _journal_entry(entries: Sequence[dict[str, Any]], kind: str,
                   identifier: str) -> tuple[dict[str, Any] | None, bool]:
    """The journal entry of ``kind``/``identifier`` and whether it came after startup."""
    serving = False
    for entry in entries:
        if entry.get("event") == "serving":
            serving = True
        elif entry.get("kind") == kind and _unquoted(entry.get("id")) == _unquoted(identifier):
            return entry, serving
    return None, False


def _unquoted(identifier: object) -> str:
    """Route ids reach the browser URL-quoted (``%3A`` for ``:``); compare them unquoted."""
    return urllib.parse.unquote(str(identifier))


def _route_ids(router: Any) -> list[str]:
    found: list[str] = []

    def walk(node: Any) -> None:
        if not isinstance(node, dict):
            return
        if str(node.get("__typename", "")).endswith("Route") and node.get("id"):
            found.append(str(node["id"]))
        for child in node.get("children") or []:
            walk(child)

    walk(router)
    return found


def _route_item(route_id: str, channel: str) -> _Item:
    return _Item("route", route_id, "POST",
                 "/api/core/route/" + urllib.parse.quote(route_id, safe=""),
                 {"ws_channel": channel, "params": {}}, (("route", route_id),))


def _content(response: _Response) -> Any:
    """The JSON a request served, denormalized; route content comes as NDJSON chunks."""
    text = response.body.decode("utf-8", "replace")
    try:
        document = json.loads(text)
    except ValueError:
        document = None
        for line in text.splitlines():
            chunk = json.loads(line) if line.strip().startswith("{") else None
            if isinstance(chunk, dict) and chunk.get("type") == "template":
                document = chunk.get("template")
                break
    if isinstance(document, dict) and {"data", "lookup"} <= document.keys():
        return _denormalize(document["data"], document["lookup"])
    return document


def _denormalize(data: Any, lookup: dict[str, Any]) -> Any:
    """Replace ``{"__ref": key}`` placeholders with their lookup entries (dara's normalization)."""
    if isinstance(data, dict):
        if set(data) == {"__ref"} and data["__ref"] in lookup:
            return _denormalize(lookup[data["__ref"]], lookup)
        return {key: _denormalize(value, lookup) for key, value in data.items()}
    if isinstance(data, list):
        return [_denormalize(value, lookup) for value in data]
    return data


def _resolve(variable: Any) -> tuple[bool, Any, list[tuple[str, str]]]:
    """The value the JS client first sends for a variable, and the ids the server looks up."""
    kind = variable.get("__typename") if isinstance(variable, dict) else None
    if kind == "Variable":
        return True, variable.get("default"), []
    if kind == "DerivedVariable":
        values, references = [], [("derived_variable", str(variable["uid"]))]
        for dependency in variable.get("variables") or []:
            ok, value, nested = _resolve(dependency)
            if not ok:
                return False, None, []
            values.append(value)
            references.extend(nested)
        return True, {"type": "derived", "uid": variable["uid"], "values": values,
                      "force_key": None, "nested": variable.get("nested") or []}, references
    if kind == "ServerVariable":
        return True, {"type": "server", "uid": variable["uid"], "sequence_number": 0}, [
            ("server_variable", str(variable["uid"]))]
    return False, None, []


def _resolve_kwargs(kwargs: dict[str, Any]) -> tuple[bool, dict[str, Any], list[tuple[str, str]]]:
    values: dict[str, Any] = {}
    references: list[tuple[str, str]] = []
    for name, variable in kwargs.items():
        ok, values[name], nested = _resolve(variable)
        if not ok:
            return False, {}, []
        references.extend(nested)
    return True, values, references


def _walk(tree: Any) -> Iterator[dict[str, Any]]:
    if isinstance(tree, dict):
        yield tree
        for value in tree.values():
            yield from _walk(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _walk(value)


def _is_py_component(node: dict[str, Any]) -> bool:
    props = node.get("props") if "uid" in node and "name" in node else None
    return isinstance(props, dict) and {"func_name", "dynamic_kwargs"} <= props.keys()


def _skipped(content: Any) -> Iterator[tuple[str, str]]:
    """(instance uid, kind) of py_components and actions with a kwarg the replay cannot give."""
    for node in _walk(content):
        if _is_py_component(node):
            kwargs, kind = node["props"]["dynamic_kwargs"], "py_component"
        elif "definition_uid" in node and "uid" in node:
            kwargs, kind = node.get("dynamic_kwargs") or {}, "action"
        else:
            continue
        if isinstance(kwargs, dict) and not _resolve_kwargs(kwargs)[0]:
            yield str(node["uid"]), kind


def _find_items(content: Any, channel: str) -> Iterator[_Item]:
    """Every request the browser makes for the ids in ``content``."""
    for node in _walk(content):
        typename = node.get("__typename")
        uid = node.get("uid")
        if typename == "DerivedVariable" and uid is not None:
            ok, value, references = _resolve(node)
            if ok:
                yield _Item("derived_variable", str(uid), "POST",
                            f"/api/core/derived-variable/{urllib.parse.quote(str(uid))}",
                            {"values": {"data": value["values"], "lookup": {}},
                             "ws_channel": channel, "force_key": None},
                            tuple(dict.fromkeys(references)))
        elif typename == "ServerVariable" and uid is not None:
            yield _Item("server_variable", str(uid), "GET",
                        f"/api/core/server-variable/{urllib.parse.quote(str(uid))}/sequence",
                        None, (("server_variable", str(uid)),))
        elif typename == "BackendStore" and uid is not None:
            yield _Item("store", str(uid), "GET",
                        f"/api/core/store/{urllib.parse.quote(str(uid))}", None,
                        (("backend_store", str(uid)),))
        elif _is_py_component(node):
            ok, values, references = _resolve_kwargs(node["props"]["dynamic_kwargs"])
            if ok:
                name = str(node["name"])
                yield _Item("py_component", name, "POST",
                            f"/api/core/components/{urllib.parse.quote(name)}",
                            {"uid": node["uid"], "values": {"data": values, "lookup": {}},
                             "ws_channel": channel},
                            (("py_component", name), ("static_kwargs", str(node["uid"])),
                             *references))
        elif "definition_uid" in node and "uid" in node:
            ok, values, references = _resolve_kwargs(node.get("dynamic_kwargs") or {})
            if ok:
                definition = str(node["definition_uid"])
                yield _Item("action", definition, "POST",
                            f"/api/core/action/{urllib.parse.quote(definition)}",
                            {"uid": node["uid"], "values": {"data": values, "lookup": {}},
                             "input": None, "ws_channel": channel,
                             "execution_id": secrets.token_hex(8)},
                            (("action", definition), ("static_kwargs", str(node["uid"])),
                             *references))
