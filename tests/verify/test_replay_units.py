"""The parts of `verify --workers` that need no server: routing, payloads, secrets, env pairs."""

from __future__ import annotations

import json
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
from dara_migrate.verify.serve import Worker
from dara_migrate.verify.serve_launcher import _auth_entry
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
    assert _auth_entry(DefaultAuthConfig()) == {
        "event": "auth", "auth_config": "DefaultAuthConfig", "login": "none"}
    assert _auth_entry(BasicAuthConfig(username="ops", password="pw")) == {
        "event": "auth", "auth_config": "BasicAuthConfig", "login": "basic",
        "username": "ops", "password": "pw"}
    multi = _auth_entry(MultiBasicAuthConfig(users={"analyst": "a1", "auditor": "b2"}))
    assert (multi["login"], multi["username"], multi["password"]) == ("basic", "analyst", "a1")
    assert _auth_entry(MultiBasicAuthConfig(users={}))["login"] == "unsupported"
    assert _auth_entry(TicketAuthConfig()) == {
        "event": "auth", "auth_config": "TicketAuthConfig", "login": "unsupported"}


class _RejectingServer(BaseHTTPRequestHandler):
    """Answers every login with 401 and the body it was sent, as a careless server might."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"] or 0))
        self.send_response(401)
        self.end_headers()
        self.wfile.write(b'{"detail": "rejected", "input": ' + body + b"}")

    def log_message(self, *args: Any) -> None:
        """Quiet: the test reads the answers, not the log."""


@pytest.fixture()
def rejecting_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RejectingServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("entry", "reason"), [
    ({"auth_config": "BasicAuthConfig", "login": "basic", "username": "ops",
      "password": "hunter2-pw"},
     "gave no session (HTTP 401: {\"detail\": \"rejected\", \"input\": {\"username\": \"ops\","
     " \"password\": \"***\"}}) for user 'ops' of BasicAuthConfig"),
    ({"auth_config": "TicketAuthConfig", "login": "unsupported"},
     "gave no session: the app's auth TicketAuthConfig needs a login verify --workers cannot"
     " make (it logs in to the default auth, BasicAuthConfig and MultiBasicAuthConfig)"),
])
def test_a_refused_login_is_one_line_without_the_password(
        tmp_path: Path, rejecting_port: int, entry: dict[str, str], reason: str) -> None:
    worker = Worker(1, rejecting_port, tmp_path)
    worker.journal.write_text(json.dumps({"event": "auth", **entry}) + "\n", encoding="utf-8")
    replay = Replay([worker], [], "none", secret_shared=False, deadline=0.0)
    with pytest.raises(ReplayError) as raised:
        replay._create_session(worker)
    message = str(raised.value)
    assert message == f"worker 1 {reason}"
    assert "\n" not in message and "hunter2" not in message
