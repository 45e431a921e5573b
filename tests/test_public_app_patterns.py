"""Patterns of public Dara apps and of Dara's own documentation: routes given as a list of
children (the object router API), two BackendStores sharing a uid, and a shared set a
request-time handler takes a live object out of."""

from __future__ import annotations

from pathlib import Path

from dara_migrate.models import AuditResult
from tests.helpers import run_audit, write_tree

OBJECT_ROUTER = {"site/main.py": (
    "from dara.components import Text\n"
    "from dara.core import ConfigurationBuilder\n"
    "from dara.core.router import IndexRoute, PageRoute, PrefixRoute\n"
    "\n"
    "config = ConfigurationBuilder()\n"
    "docs = PrefixRoute(path='docs')\n"
    "docs.set_children([IndexRoute(content=Text('Docs')),\n"
    "                   PageRoute(path='intro', content=Text('Intro'))])\n"
    "config.router.set_children([\n"
    "    IndexRoute(content=Text('Home')),\n"
    "    PrefixRoute(path='/guides/', children=[\n"
    "        IndexRoute(content=Text('Guides')),\n"
    "        PageRoute(path='setup', content=Text('Setup')),\n"
    "    ]),\n"
    "    docs,\n"
    "])\n"
)}


def route_ids(result: AuditResult) -> dict[int, str | None]:
    return {f.line: f.suggested_uid for f in result.findings if f.rule == "DM108"}


def test_a_route_in_a_list_of_children_takes_the_full_path_as_its_id(tmp_path: Path) -> None:
    result, _ = run_audit(write_tree(tmp_path, OBJECT_ROUTER))
    assert route_ids(result) == {
        6: "docs", 7: "docs-index", 8: "docs-intro", 10: "index", 11: "guides",
        12: "guides-index", 13: "guides-setup"}


def test_routes_given_as_arguments_keep_the_full_path(tmp_path: Path) -> None:
    result, _ = run_audit(write_tree(tmp_path, {"site/main.py": (
        "from dara.components import Text\n"
        "from dara.core import ConfigurationBuilder\n"
        "from dara.core.router import IndexRoute, PrefixRoute\n"
        "\n"
        "config = ConfigurationBuilder()\n"
        "config.router.set_children([\n"
        "    PrefixRoute(IndexRoute(content=Text('Blog')), path='blog'),\n"
        "])\n"
    )}))
    assert route_ids(result) == {7: "blog-index"}


def _stores(second_uid: str) -> dict[str, str]:
    return {"chat/main.py": (
        "from dara.core import ConfigurationBuilder, Variable\n"
        "from dara.core.persistence import BackendStore, InMemoryBackend\n"
        "\n"
        "config = ConfigurationBuilder()\n"
        "messages = Variable([], store=BackendStore(InMemoryBackend(), uid='chat-log'))\n"
        f"drafts = Variable([], store=BackendStore(InMemoryBackend(), uid='{second_uid}'))\n"
    )}


def test_backend_stores_sharing_a_uid_are_said_to_share_not_to_fail(tmp_path: Path) -> None:
    result, _ = run_audit(write_tree(tmp_path, _stores("chat-log")))
    messages = {f.line: f.message for f in result.findings if f.rule == "DM103"}
    assert set(messages) == {5, 6}
    for message in messages.values():
        assert "never registered" in message
        assert "serves the first one for both" in message
        assert "registration fails" not in message


def test_backend_stores_with_their_own_uids_are_no_duplicate(tmp_path: Path) -> None:
    result, _ = run_audit(write_tree(tmp_path, _stores("chat-drafts")))
    assert not [f for f in result.findings if f.rule == "DM103"]


BROADCASTER = {"live/main.py": (
    "import asyncio\n"
    "\n"
    "from dara.core import ConfigurationBuilder, action\n"
    "\n"
    "\n"
    "class Broadcaster:\n"
    "    def __init__(self) -> None:\n"
    "        self.listeners: set[asyncio.Queue] = set()\n"
    "\n"
    "    def join(self) -> asyncio.Queue:\n"
    "        queue: asyncio.Queue = asyncio.Queue()\n"
    "        self.listeners.add(queue)\n"
    "        return queue\n"
    "\n"
    "    def leave(self, queue: asyncio.Queue) -> None:\n"
    "        self.listeners.discard(queue)\n"
    "\n"
    "\n"
    "hub = Broadcaster()\n"
    "config = ConfigurationBuilder()\n"
    "\n"
    "\n"
    "@action\n"
    "async def reconnect(ctx: action.Ctx) -> None:\n"
    "    hub.leave(hub.join())\n"
)}


def test_taking_a_live_object_out_of_shared_state_is_no_blocker(tmp_path: Path) -> None:
    result, _ = run_audit(write_tree(tmp_path, BROADCASTER))
    found = {f.line: f for f in result.findings if f.rule == "DM205"}
    assert found[12].fix == "blocker"
    assert "is given a Queue" in found[12].message
    assert found[16].fix == "manual"
    assert "written at request time (.discard())" in found[16].message
