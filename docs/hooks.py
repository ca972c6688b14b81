"""mkdocs hooks: pages that are generated from the code, so that they cannot drift from it.

``<!-- endpoints -->`` in a page becomes the table of every operation of
``xportcn_async.ENDPOINTS``: its path, whether it is retried when its outcome is unknown,
and what about it the public docs do not show (the ``inferred`` column).
"""

from __future__ import annotations

from typing import Any

PLACEHOLDER = "<!-- endpoints -->"


def endpoints_table() -> str:
    from xportcn_async import ENDPOINTS

    rows = [
        "| operation | path | retried when the outcome is unknown | inferred |",
        "|---|---|---|---|",
    ]
    for endpoint in ENDPOINTS.values():
        rows.append(
            f"| `{endpoint.name}` | `{endpoint.path}` | {'yes' if endpoint.idempotent else 'no'} "
            f"| {endpoint.inferred or '—'} |"
        )
    return "\n".join(rows)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    if PLACEHOLDER in markdown:
        markdown = markdown.replace(PLACEHOLDER, endpoints_table())
    return markdown
