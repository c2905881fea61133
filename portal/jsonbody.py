"""Reading a JSON request body safely: over-deep nesting and lone surrogates are refused as bad JSON.

Python's json module accepts ``"\\ud800"`` (a lone UTF-16 surrogate, which is no character
and which neither the database driver nor the password hasher can encode) and recurses
once per nesting level (a body nested a few thousand levels deep raises RecursionError).
Both would end as a 500 far from where the body was read; here they are a
``json.JSONDecodeError``, which Flask and webargs both answer as 400 Bad Request.
"""

from __future__ import annotations

import json
from typing import Any

from flask.json.provider import DefaultJSONProvider

# No request body of the portal nests deeper than a few levels; this leaves room for any client.
MAX_DEPTH = 32


def _refuse(reason: str, doc: str) -> json.JSONDecodeError:
    # Never an empty document: webargs takes a decode error of "" for "no body sent".
    return json.JSONDecodeError(reason, doc or "<body>", 0)


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check(value: Any, doc: str = "") -> Any:
    """``value`` (a parsed JSON document) when it nests at most MAX_DEPTH levels and holds only real text."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, str):
            if not _is_text(node):
                raise _refuse("Text holds a lone surrogate (invalid Unicode)", doc)
        elif isinstance(node, dict | list):
            if depth >= MAX_DEPTH:
                raise _refuse(f"Nested deeper than {MAX_DEPTH} levels", doc)
            if isinstance(node, dict):
                for key, inner in node.items():
                    if not _is_text(key):
                        raise _refuse("A key holds a lone surrogate (invalid Unicode)", doc)
                    pending.append((inner, depth + 1))
            else:
                pending.extend((inner, depth + 1) for inner in node)
    return value


def loads(data: str | bytes, **kwargs: Any) -> Any:
    """json.loads, refusing over-deep documents and lone surrogates with json.JSONDecodeError."""
    if isinstance(data, bytes | bytearray):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as error:
            raise _refuse(f"Not UTF-8: {error.reason}", "") from None
    try:
        value = json.loads(data, **kwargs)
    except RecursionError:
        raise _refuse(f"Nested deeper than {MAX_DEPTH} levels", data) from None
    return check(value, data)


class SafeJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, reading request bodies with ``loads`` above."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s, **kwargs)
