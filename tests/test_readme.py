"""The README's quickstart runs as written (against the sandbox instead of production)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import xportcn_async
from xportcn_async import InMemoryTransport, XportcnClient
from xportcn_async.sandbox import Sandbox

README = Path(__file__).resolve().parents[1] / "README.md"


def quickstart_code() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Quickstart") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the Quickstart section has no python block"
    return match.group(1)


def test_the_quickstart_books_an_order(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = Sandbox()
    monkeypatch.setenv("XPORTCN_ACCESS_KEY", sandbox.credentials.access_key)
    monkeypatch.setenv("XPORTCN_ACCESS_SECRET", sandbox.credentials.access_secret)
    monkeypatch.setenv("XPORTCN_USER_ID", sandbox.credentials.user_id or "")

    class SandboxClient(XportcnClient):
        """The README's client, pointed at the in-process sandbox."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("base_url", "http://127.0.0.1/api")
            kwargs.setdefault("transport", InMemoryTransport(sandbox.handle))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(xportcn_async, "XportcnClient", SandboxClient)
    exec(compile(quickstart_code(), str(README), "exec"), {"__name__": "__readme__"})
    out = capsys.readouterr().out
    assert "freight:" in out and " USD" in out
    assert sandbox.stats.bookings == 1
    order_id = next(iter(sandbox.state.orders))
    assert out.splitlines()[-1].startswith(f"{order_id} ['FARJP")
