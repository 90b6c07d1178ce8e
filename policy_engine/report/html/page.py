"""The page around the report: its template, stylesheet and script, and their security policy.

The three files ship in the package (``assets/``) and go into the page whole, so
the page needs nothing else to be viewed. Its Content-Security-Policy allows
nothing to be fetched (``default-src 'none'``) and only the page's own style and
script to run, named by their SHA-256 hashes: text from the inputs that were to
contain a tag could not run even if it escaped being escaped. The data the
script reads is a JSON block (never run) whose ``<``, ``>`` and ``&`` are
written as ``\\u`` escapes, so nothing in it can close the block.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from functools import cache
from importlib import resources
from typing import Any

from policy_engine import __version__

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


@cache
def asset(name: str) -> str:
    """A file of ``assets/``, as text."""
    return (
        resources.files(__package__).joinpath("assets").joinpath(name).read_text(encoding="utf-8")
    )


def escape(text: object) -> str:
    """``text`` as HTML text or a quoted attribute value."""
    return html.escape(str(text), quote=True)


def script_json(data: Any) -> str:
    """``data`` as JSON that is safe inside a ``<script type="application/json">`` block."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return re.sub("[<>&\u2028\u2029]", lambda m: _JSON_ESCAPES[m[0]], text)


def digest(text: str) -> str:
    """A CSP source naming ``text`` by its SHA-256."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def csp(style: str, script: str) -> str:
    """Nothing may be fetched, and only this style and this script may apply."""
    return (
        f"default-src 'none'; style-src {digest(style)}; script-src {digest(script)}; "
        "img-src 'none'; base-uri 'none'; form-action 'none'"
    )


def page(title: str, body: str, data: Any, extra_style: str = "") -> str:
    """The whole page: ``body`` is HTML already escaped; ``data`` goes in the JSON block."""
    style, script = asset("report.css") + extra_style, asset("report.js")
    parts = {
        "csp": escape(csp(style, script)),
        "version": escape(__version__),
        "title": escape(title),
        "style": style,
        "body": body,
        "data": script_json(data),
        "script": script,
    }
    # One pass over the template: what is put in is never read for placeholders again.
    return _PLACEHOLDER.sub(lambda m: parts[m[1]], asset("page.html"))
