"""The parts of `verify --workers` that need no server: routing, payloads, secrets, env pairs."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from dara.core.auth import BaseAuthConfig, BasicAuthConfig, MultiBasicAuthConfig
from dara.core.auth.basic import DefaultAuthConfig
from dara.core.internal.normalization import normalize
from hypothesis import given
from hypothesis import strategies as st

from dara_migrate.verify.replay import Replay, SiteFinding, _denormalize, _find_items
from dara_migrate.verify.serve import ServedAuth, Worker
from dara_migrate.verify.serve_launcher import _auth_entry, _send_auth
from dara_migrate.verify.workers import ReplayError, parse_environment, secret_source


def make_replay(count: int, findings: list[SiteFinding] | None = None) -> Replay:
    workers = [Worker(number, 0, Path("/nonexistent")) for number in range(1, count + 1)]
    return Replay(workers, findings or [], "none", secret_shared=False, deadline=0.0)


@given(count=st.integers(min_value=2, max_value=5), origins=st.lists(st.integers(1, 5)))
def test_a_request_never_goes_to_the_worker_that_named_its_id(count: int,
                                                               origins: list[int]) -> None:
    replay = make_replay(count)
    for origin in (o for o in origins if o <= count):
        previous = replay._last_target
        target = replay._pick_target(origin).number
        assert target != origin
        if count >= 3:
            assert target != previous


# dara's lookup holds one entry per uid, so equal uids must carry equal variables.
variables = st.uuids().map(lambda uid: {
    "__typename": ("Variable", "DerivedVariable", "ServerVariable")[uid.int % 3],
    "uid": str(uid), "default": uid.hex[:4], "nested": [],
})
trees = st.recursive(
    st.integers() | st.text(max_size=5) | st.none() | variables,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["a", "b", "props", "children"]), children, max_size=4),
    max_leaves=15,
)


@given(trees)
def test_denormalize_undoes_daras_normalize(tree: Any) -> None:
    data, lookup = normalize(tree) if isinstance(tree, (dict, list)) else (tree, {})
    assert _denormalize(data, dict(lookup)) == tree


def test_items_carry_the_values_the_client_sends_first() -> None:
    year = {"__typename": "Variable", "uid": "year", "default": "2024", "nested": []}
    ledger = {"__typename": "ServerVariable", "uid": "ledger", "scope": "global"}
    totals = {"__typename": "DerivedVariable", "uid": "totals", "variables": [ledger, year],
              "nested": []}
    component = {"name": "def-1", "uid": "inst-1",
                 "props": {"func_name": "kpis", "dynamic_kwargs": {"data": totals}}}
    items = {(i.kind, i.id): i for i in _find_items({"children": [component]}, "channel")}

    assert set(items) == {("py_component", "def-1"), ("derived_variable", "totals"),
                          ("server_variable", "ledger")}
    render = items["py_component", "def-1"]
    assert render.path == "/api/core/components/def-1"
    assert render.body["uid"] == "inst-1"
    assert render.body["values"]["data"]["data"]["values"] == [
        {"type": "server", "uid": "ledger", "sequence_number": 0}, "2024"]
    assert render.references == (("py_component", "def-1"), ("static_kwargs", "inst-1"),
                                 ("derived_variable", "totals"), ("server_variable", "ledger"))


def test_a_kwarg_without_a_first_value_is_not_sent() -> None:
    url = {"__typename": "UrlVariable", "uid": "q", "default": None}
    component = {"name": "def-1", "uid": "inst-1",
                 "props": {"func_name": "search", "dynamic_kwargs": {"query": url}}}
    assert [i.kind for i in _find_items(component, "channel")] == []


@pytest.mark.parametrize(("kind", "definition", "findings", "expected"), [
    ("derived_variable", {"owner": "app", "path": "p.py", "line": 3, "end_line": 4},
     [SiteFinding("DM104", "p.py", 4, "open")], ("DM104", "failing")),
    ("derived_variable", {"owner": "app", "path": "p.py", "line": 3},
     [SiteFinding("DM301", "p.py", 3, "acknowledged")], ("DM301", "acknowledged")),
    ("derived_variable", {"owner": "app", "path": "p.py", "line": 3}, [], ("DM101", "failing")),
    ("route", {"owner": "app", "path": "main.py", "line": 9}, [], ("DM108", "failing")),
    ("action", {"owner": "app", "path": "p.py", "line": 3},
     [SiteFinding("DM105", "p.py", 3, "acknowledged")], ("DM105", "acknowledged")),
    ("action", {"owner": "framework", "path": "p.py", "line": 3, "qualname": "m.f"}, [],
     (None, "pending")),
    ("action", {"owner": "framework", "path": "p.py", "line": 3,
                "qualname": "m.page.<locals>.go"},
     [SiteFinding("DM302", "p.py", 3, "open")], ("DM302", "pending")),
])
def test_the_site_finding_explains_a_failure(kind: str, definition: dict[str, Any],
                                             findings: list[SiteFinding],
                                             expected: tuple[str | None, str]) -> None:
    assert make_replay(2, findings)._site_rule(kind, definition, False) == expected


def test_definitions_made_while_serving_are_runtime_definitions() -> None:
    replay = make_replay(2)
    nested = {"owner": "framework", "path": "p.py", "line": 3, "qualname": "m.a.<locals>.b"}
    top_level = {"owner": "framework", "path": "p.py", "line": 3, "qualname": "m.card"}
    variable = {"owner": "app", "path": "p.py", "line": 3}
    assert replay._site_rule("py_component", nested, True) == ("DM301", "failing")
    assert replay._site_rule("py_component", top_level, True) == ("DM303", "pending")
    assert replay._site_rule("derived_variable", variable, True) == ("DM301", "failing")


def test_secret_sources_in_order(tmp_path: Path) -> None:
    assert secret_source(tmp_path, {"JWT_SECRET": "x"}, {}, False)[1:] == (None, True)
    assert secret_source(tmp_path, {}, {"JWT_SECRET": "y"}, False)[0].endswith("environment")
    description, value, shared = secret_source(tmp_path, {}, {}, True)
    assert shared and value is not None and len(value) == 64 and "deployment" in description
    assert secret_source(tmp_path, {}, {}, False) == (
        "none: each worker signs sessions with a random secret of its own", None, False)
    (tmp_path / ".env").write_text("# JWT_SECRET=commented\nexport JWT_SECRET=abc\n")
    assert secret_source(tmp_path, {}, {}, False)[1:] == (None, True)


def test_env_pairs() -> None:
    assert parse_environment(["A=1", "B=x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}
    for bad in ("NOEQUALS", "=1", "1A=2", "A B=1"):
        with pytest.raises(ReplayError, match="expected KEY=VALUE"):
            parse_environment([bad])


class TicketAuthConfig(BaseAuthConfig):
    """An app's own auth: a session only for a ticket from its identity service."""

    def get_token(self, body: Any) -> Any:
        raise NotImplementedError

    def verify_token(self, token: str) -> Any:
        raise NotImplementedError


def test_the_login_follows_the_apps_auth_config() -> None:
    assert _auth_entry(DefaultAuthConfig()) == {"auth_config": "DefaultAuthConfig",
                                                "login": "none"}
    assert _auth_entry(BasicAuthConfig(username="ops", password="pw")) == {
        "auth_config": "BasicAuthConfig", "login": "basic", "users": [["ops", "pw"]]}
    multi = _auth_entry(MultiBasicAuthConfig(users={"analyst": "a1", "auditor": "b2"}))
    assert (multi["login"], multi["users"]) == ("basic", [["analyst", "a1"], ["auditor", "b2"]])
    assert _auth_entry(MultiBasicAuthConfig(users={}))["login"] == "unsupported"
    assert _auth_entry(TicketAuthConfig()) == {"auth_config": "TicketAuthConfig",
                                               "login": "unsupported"}


def test_the_login_reaches_verify_on_a_pipe_and_is_never_shown(tmp_path: Path) -> None:
    """The launcher's end writes one line and closes; verify's end reads it into memory."""
    receiving, sending = os.pipe()
    _send_auth(sending, _auth_entry(MultiBasicAuthConfig(
        users={"analyst": "pw-analyst-1", "auditor": "pw-auditor-2"})))
    worker = Worker(1, 0, tmp_path, auth_pipe=receiving)
    worker.receive_auth(timeout=5)

    assert worker.auth == ServedAuth("MultiBasicAuthConfig", "basic", (
        ("analyst", "pw-analyst-1"), ("auditor", "pw-auditor-2")))
    assert worker.auth_pipe is None
    with pytest.raises(OSError):
        os.fstat(receiving)
    assert "pw-" not in repr(worker) and "pw-" not in repr(worker.auth)
    assert list(tmp_path.iterdir()) == []


def test_a_worker_that_ends_before_sending_its_login_has_none(tmp_path: Path) -> None:
    receiving, sending = os.pipe()
    os.close(sending)
    worker = Worker(1, 0, tmp_path, auth_pipe=receiving)
    worker.receive_auth(timeout=5)
    assert worker.auth is None and worker.auth_pipe is None


class _LoginServer(BaseHTTPRequestHandler):
    """Answers a login with a session for the body it got, or 401 and the body echoed back,
    as a careless server might; keeps the bodies it got."""

    bodies: list[dict[str, str]] = []
    accept = True

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"] or 0))
        self.bodies.append(json.loads(body) if body else {})
        if self.accept:
            self.send_response(200)
            self.send_header("Set-Cookie", "dara_session_token=token-1; Path=/")
            self.end_headers()
            return
        self.send_response(401)
        self.end_headers()
        self.wfile.write(b'{"detail": "rejected", "input": ' + body + b"}")

    def log_message(self, *args: Any) -> None:
        """Quiet: the test reads the answers, not the log."""


def _serve(handler: type[_LoginServer]) -> Iterator[tuple[int, list[dict[str, str]]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1]), handler.bodies
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def accepting() -> Iterator[tuple[int, list[dict[str, str]]]]:
    yield from _serve(type("_Accepting", (_LoginServer,), {"bodies": [], "accept": True}))


@pytest.fixture()
def rejecting_port() -> Iterator[int]:
    for port, _ in _serve(type("_Rejecting", (_LoginServer,), {"bodies": [], "accept": False})):
        yield port


LEDGER = ServedAuth("MultiBasicAuthConfig", "basic",
                    (("analyst", "pw-analyst-1"), ("auditor", "pw-auditor-2")))


@pytest.mark.parametrize(("login", "user"), [(None, "analyst"), ("auditor", "auditor"),
                                             ("analyst", "analyst")])
def test_the_replay_logs_in_as_the_login_user_else_the_first(
        tmp_path: Path, accepting: tuple[int, list[dict[str, str]]], login: str | None,
        user: str) -> None:
    port, bodies = accepting
    worker = Worker(1, port, tmp_path, auth=LEDGER)
    replay = Replay([worker], [], "none", secret_shared=False, deadline=0.0, login=login)

    assert replay._create_session(worker) == "token-1"
    assert bodies == [{"username": user, "password": dict(LEDGER.users)[user]}]
    assert replay.result.auth == f"MultiBasicAuthConfig, logged in as {user!r}"
    assert "pw-" not in json.dumps(replay.result.to_json())


@pytest.mark.parametrize(("auth", "login", "message"), [
    (LEDGER, "nobody",
     "--login 'nobody': the app's MultiBasicAuthConfig has no such user (it has 2 users)"),
    (ServedAuth("BasicAuthConfig", "basic", (("ops", "pw-ops-0"),)), "admin",
     "--login 'admin': the app's BasicAuthConfig has no such user (it has 1 user)"),
    (ServedAuth("DefaultAuthConfig", "none"), "analyst",
     "--login 'analyst': the app's auth DefaultAuthConfig has no users to log in as (--login"
     " picks a user of BasicAuthConfig or MultiBasicAuthConfig)"),
])
def test_a_login_the_app_does_not_have_is_one_line_without_passwords(
        tmp_path: Path, accepting: tuple[int, list[dict[str, str]]], auth: ServedAuth,
        login: str, message: str) -> None:
    port, bodies = accepting
    worker = Worker(1, port, tmp_path, auth=auth)
    replay = Replay([worker], [], "none", secret_shared=False, deadline=0.0, login=login)
    with pytest.raises(ReplayError) as raised:
        replay._create_session(worker)
    assert str(raised.value) == message
    assert bodies == [], "no login is sent for a user the app does not have"


@pytest.mark.parametrize(("auth", "reason"), [
    (ServedAuth("BasicAuthConfig", "basic", (("ops", "hunter2-pw"),)),
     "gave no session (HTTP 401: {\"detail\": \"rejected\", \"input\": {\"username\": \"ops\","
     " \"password\": \"***\"}}) for user 'ops' of BasicAuthConfig"),
    (ServedAuth("TicketAuthConfig", "unsupported"),
     "gave no session: the app's auth TicketAuthConfig needs a login verify --workers cannot"
     " make (it logs in to the default auth, BasicAuthConfig and MultiBasicAuthConfig)"),
])
def test_a_refused_login_is_one_line_without_the_password(
        tmp_path: Path, rejecting_port: int, auth: ServedAuth, reason: str) -> None:
    worker = Worker(1, rejecting_port, tmp_path, auth=auth)
    replay = Replay([worker], [], "none", secret_shared=False, deadline=0.0)
    with pytest.raises(ReplayError) as raised:
        replay._create_session(worker)
    message = str(raised.value)
    assert message == f"worker 1 {reason}"
    assert "\n" not in message and "hunter2" not in message


@pytest.mark.parametrize(("shared", "rule"), [(True, "DM201"), (False, "DM701")])
def test_a_session_another_worker_rejects_names_the_apps_builder(
        tmp_path: Path, rejecting_port: int, shared: bool, rule: str) -> None:
    workers = [Worker(1, rejecting_port, tmp_path), Worker(2, rejecting_port, tmp_path)]
    findings = [SiteFinding("DM101", "app/state.py", 3, "open"),
                SiteFinding("DM201", "app/main.py", 7, "pending"),
                SiteFinding("DM701", "app/main.py", 7, "open")]
    replay = Replay(workers, findings, "none", secret_shared=shared, deadline=0.0)
    replay._cookies[1] = "token-1"
    replay._check_sessions()
    [failure] = replay.result.failures
    assert (failure.kind, failure.rule, failure.path, failure.line) == (
        "session", rule, "app/main.py", 7)
    assert failure.status == ("pending" if shared else "failing")
