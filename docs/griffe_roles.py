"""A griffe extension for the docs site: the package's docstrings are written with Sphinx
roles (``:class:`~xportcn_async.errors.APIError```), which mkdocstrings would print as they
are. This turns each into a cross-reference to the API reference where the name is
documented there, and into plain code where it is not (a private helper, aiohttp's classes),
so that the reference reads as prose and never fails the strict build on a name it does
not document. Literal blocks introduced by ``::`` end in ``:`` and stay code blocks.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|data|mod|exc|obj|const):`(~?)([\w.]+)`")
LITERAL_BLOCK = re.compile(r"::$", re.M)


class SphinxRoles(griffe.Extension):
    """Rewrites the roles of every docstring once the package is loaded."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is None:
            return
        obj.docstring.value = LITERAL_BLOCK.sub(
            ":", ROLE.sub(lambda m: _autoref(obj, m), obj.docstring.value)
        )


def _autoref(obj: griffe.Object, match: re.Match[str]) -> str:
    short, target = match.group(1) == "~", match.group(2)
    head, _, rest = target.partition(".")
    try:
        path = obj.resolve(head) + (f".{rest}" if rest else "")
    except griffe.NameResolutionError:
        path = target
    title = target.rsplit(".", 1)[-1] if short else target
    return f'<autoref identifier="{html.escape(path)}" optional><code>{html.escape(title)}</code></autoref>'
