"""Escaping of user data (column names, category values, class labels) for the Markdown reports."""
from __future__ import annotations

from typing import Any

# "<" starts every raw HTML tag and "&" every entity; "\\", "`", "[", "]" and "|" make escapes,
# code spans, links, images and table cells out of plain text. ">" alone is inert, so ">=" stays.
_MARKDOWN = str.maketrans({"&": "&amp;", "<": "&lt;", **{c: "\\" + c for c in "\\`[]|"}})


def markdown_text(value: Any) -> str:
    """Returns ``value`` as inert Markdown text: no HTML tag, link, code span or table cell, on one line.

    Renderers that allow raw HTML (KFP's Markdown viewer, GitHub) then show ``<script>`` or
    ``<img onerror=...>`` as text instead of running it.
    """
    text = str(value).translate(_MARKDOWN)
    return " ".join(text.splitlines())
