"""Markdown for text that came from outside (driver strings, another job's output)."""

from __future__ import annotations


def cell(value: object) -> str:
    """One table cell: one line, pipes escaped, HTML, links, code and mentions kept inert."""
    text = "-" if value is None or value == "" else str(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for char in ("\\", "|", "*", "_", "`", "[", "]", "@", "#"):
        text = text.replace(char, "\\" + char)
    return " ".join(text.split())
