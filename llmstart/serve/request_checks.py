"""Check a ``POST /v1/classify`` body before it reaches the model; say exactly what is wrong.

Every way a body can be wrong maps to one 4xx status and one sentence a client developer can
act on. The service never guesses (no silent truncation of too many texts, no dropping of
empty strings): the caller decides. The rules on the JSON itself are the request model of
:mod:`llmstart.serve.schema` (what ``/openapi.json`` declares); this module adds what comes
before it (size, UTF-8, JSON syntax), for checking a body outside the HTTP service.

>>> parse_classify_body(b'{"texts": ["good", "bad"]}', Limits())
['good', 'bad']
>>> try:
...     parse_classify_body(b'{"texts": []}', Limits())
... except RequestError as err:
...     print(err.status, err.message)
422 'texts' is empty: send at least one text.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from pydantic import ValidationError

__all__ = ["Limits", "RequestError", "parse_classify_body"]


@dataclass(frozen=True)
class Limits:
    """What one request may hold. Defaults suit short texts (tweets, tickets, reviews).

    >>> Limits().max_texts, Limits().max_chars, Limits().max_body_bytes
    (64, 5000, 1000000)
    """

    max_texts: int = 64
    max_chars: int = 5000
    max_body_bytes: int = 1_000_000

    def __post_init__(self):
        for name in ("max_texts", "max_chars", "max_body_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")


class RequestError(ValueError):
    """A request the service refuses: an HTTP ``status`` and a ``message`` for the client."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message

    def body(self) -> dict:
        """The JSON body of the error answer."""
        return {"error": self.message, "status": self.status}


def parse_classify_body(body: bytes, limits: Limits) -> list[str]:
    """The list of texts in ``body``, or :class:`RequestError` saying what is wrong.

    >>> parse_classify_body(b'{"texts": "hello"}', Limits())
    Traceback (most recent call last):
    ...
    llmstart.serve.request_checks.RequestError: 'texts' must be a list of strings, got a string: wrap it as {"texts": ["..."]}.
    """
    if len(body) > limits.max_body_bytes:
        raise RequestError(413, f"body is {len(body)} bytes, over the limit of "
                                f"{limits.max_body_bytes}; send fewer or shorter texts per request.")
    if not body.strip():
        raise RequestError(400, 'empty body: send JSON like {"texts": ["some text"]}.')
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RequestError(400, f"body is not valid UTF-8 (byte {err.start}); encode the JSON as "
                                "UTF-8.") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as err:  # JSONDecodeError, huge ints, deep nesting
        where = f" at line {err.lineno} column {err.colno}" if isinstance(err, json.JSONDecodeError) else ""
        raise RequestError(400, f"body is not valid JSON{where}: send JSON like "
                                '{"texts": ["some text"]}.') from None
    try:
        return _request_model(limits).model_validate(data).texts
    except ValidationError as err:
        from llmstart.serve.schema import explain

        raise RequestError(*explain(err.errors(), limits, loc_prefix=())) from None


@functools.lru_cache(maxsize=16)
def _request_model(limits: Limits):
    from llmstart.serve.schema import classify_request_model

    return classify_request_model(limits)


def _kind(value: object) -> str:
    """A JSON-flavoured name for a value's type, for error messages.

    >>> _kind(None), _kind(3), _kind({})
    ('null', 'a number', 'an object')
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
