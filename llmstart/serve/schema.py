"""The service's contract: pydantic models of every request and answer, and the error sentences.

FastAPI builds ``/openapi.json`` (and so ``/docs``) from these models and validates each request
body against them, so the schema a client reads and the checks the server makes are one thing.
The limits of a request (``--max-texts``, ``--max-chars``) are part of the model the app is built
with: ``maxItems`` and ``maxLength`` in the schema are exactly what the server enforces.

When a body breaks the contract, :func:`explain` turns pydantic's error into one sentence that
says which field, what limit, and what to send instead:

>>> from pydantic import ValidationError
>>> Request = classify_request_model(Limits(max_texts=2, max_chars=10))
>>> try:
...     Request.model_validate({"texts": ["fine", "x" * 11]})
... except ValidationError as err:
...     print(explain(err.errors(), Limits(max_texts=2, max_chars=10), loc_prefix=()))
(422, 'texts[1] has 11 characters, over the limit of 10; shorten it or raise --max-chars.')
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from llmstart.serve.request_checks import Limits, _kind

__all__ = ["ClassifyResponse", "ErrorBody", "Health", "ModelInfo", "Prediction", "Ready",
           "classify_request_model", "error_responses", "explain", "EXAMPLE"]

#: The request every error message points to, and the example ``/docs`` shows.
EXAMPLE = {"texts": ["My invoice is wrong", "Where is my parcel?"]}
_SEND = 'send JSON like {"texts": ["some text"]}.'
#: "Holds a character that is not whitespace", spelled out as the characters Python's str.strip()
#: removes, so the pattern means the same in Python, in ECMA-262 (JSON Schema) and in Rust.
NOT_BLANK = "[^\\t-\\r\\x1c- \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"


def _no_lone_surrogates(text: str) -> str:
    """A JSON escape such as ``"\\ud800"`` decodes to half a character no tokenizer can read."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise PydanticCustomError("text_surrogate", "unpaired surrogate at character {position}",
                                  {"position": err.start}) from None  # (the pattern catches it first)
    return text


def classify_request_model(limits: Limits) -> type[BaseModel]:
    """The body of ``POST /v1/classify`` for these limits (a pydantic model class).

    >>> Request = classify_request_model(Limits(max_texts=3, max_chars=20))
    >>> schema = Request.model_json_schema()["properties"]["texts"]
    >>> schema["maxItems"], schema["items"]["maxLength"], schema["items"]["pattern"] == NOT_BLANK
    (3, 20, True)
    """
    text = Annotated[str, StringConstraints(max_length=limits.max_chars, pattern=NOT_BLANK),
                     AfterValidator(_no_lone_surrogates)]

    class ClassifyRequest(BaseModel):
        """Texts to classify, answered in the same order."""

        # strict: a number is not a text, a string is not a list (JSON gives exactly these types);
        model_config = ConfigDict(strict=True, regex_engine="python-re",
                                  json_schema_extra={"examples": [EXAMPLE]})
        texts: Annotated[list[text], Field(
            min_length=1, max_length=limits.max_texts,
            description=f"1 to {limits.max_texts} texts (--max-texts), each with at least one "
                        f"non-whitespace character and at most {limits.max_chars} characters "
                        "(--max-chars), valid Unicode. The whole body is at most "
                        f"{limits.max_body_bytes} bytes (--max-body-bytes), else 413.")]

    return ClassifyRequest


class Prediction(BaseModel):
    """One text's answer."""

    label: str = Field(description="the most probable label (one of GET /v1/model's labels)")
    score: float = Field(ge=0, le=1, description="probability of `label` (after the temperature "
                                                 "in serving.json)")
    abstain: bool = Field(description="true when `score` is below the abstain threshold: hand "
                                      "this text to a person")
    scores: dict[str, float] = Field(description="every label's probability; they sum to 1",
                                     json_schema_extra={"additionalProperties": {
                                         "type": "number", "minimum": 0, "maximum": 1}})


class ClassifyResponse(BaseModel):
    """One prediction per text, in the order sent."""

    model: str = Field(description="the served model folder's name")
    predictions: list[Prediction]


class ModelInfo(BaseModel):
    """What is being served, and how it was trained."""

    name: str
    labels: list[str]
    backend: str | None = Field(description="float, bf16, int8 or onnx")
    folder: str | None
    base_model: str | None
    architecture: str | None
    max_length: int = Field(description="tokens read per text")
    temperature: float = Field(description="divides the logits (calibration; 1.0: none)")
    abstain_threshold: float = Field(description="`abstain` is true below this score")
    training: dict[str, Any] = Field(description="the model folder's metrics.json")


class Health(BaseModel):
    """The process is up."""

    status: Literal["ok"]


class Ready(BaseModel):
    """The model is loaded and answered a probe."""

    status: Literal["ready"]
    model: str
    backend: str | None


class ErrorBody(BaseModel):
    """Every refused request: one sentence saying what is wrong and what to do, and the status."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"error": "'texts' is empty: send at least one text.", "status": 422}]})
    error: str
    status: int


_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying", "required": True,
                                "schema": {"type": "integer"}}}
_ALLOW = {"Allow": {"description": "the methods this path answers", "required": True,
                    "schema": {"type": "string"}}}
_ERRORS = {
    400: ("the body is not JSON (or not UTF-8, or empty)", None),
    404: ("no such path (any path not in this document)", None),
    405: ("this path does not answer this method", _ALLOW),
    413: ("the body is over --max-body-bytes", None),
    415: ("the body is not sent as application/json", None),
    422: ("the JSON breaks the request schema (which field, what limit, what to send instead)",
          None),
    500: ("an unexpected failure while answering; the service stays up", None),
    503: ("busy (the queue is full) or the model is not ready; retry after Retry-After seconds",
          _RETRY_AFTER),
}


def error_responses(*statuses: int) -> dict:
    """FastAPI ``responses=`` declaring each status with :class:`ErrorBody` (and its headers).

    >>> sorted(error_responses(405, 503)[503]["headers"])
    ['Retry-After']
    """
    out = {}
    for status in statuses:
        description, headers = _ERRORS[status]
        # the body is JSON whatever the route's own media type (/metrics answers text)
        out[status] = {"description": description, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
        if headers:
            out[status]["headers"] = headers
    return out


def explain(errors: list[dict], limits: Limits, loc_prefix: tuple = ("body",),
            body: str | bytes | None = None) -> tuple[int, str]:
    """The status and one sentence for the first problem in pydantic/FastAPI validation ``errors``.

    List-level problems come before problems with one text, as a person would fix them. ``body``
    (the text FastAPI failed to parse) places a JSON syntax error at its line and column.

    >>> explain([{"type": "missing", "loc": ("body", "texts"), "input": {}}], Limits())
    (422, '\\'texts\\' is missing: send {"texts": ["some text"]}.')
    """
    def order(e):
        loc = tuple(e.get("loc", ()))[len(loc_prefix):]
        return len(loc), [x if isinstance(x, int) else -1 for x in loc]

    error = sorted(errors, key=order)[0]
    kind, loc, value = error["type"], tuple(error.get("loc", ()))[len(loc_prefix):], error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "json_invalid" and isinstance(body, str) and not body.strip():
        return 400, f"empty body: {_SEND}"
    if kind == "json_invalid":
        where = ""
        if isinstance(body, str) and loc and isinstance(loc[0], int):
            line = body.count("\n", 0, loc[0]) + 1
            where = f" at line {line} column {loc[0] - body.rfind(chr(10), 0, loc[0])}"
        return 400, f"body is not valid JSON{where}: {_SEND}"
    if not loc:
        if kind == "missing":
            return 400, f"empty body: {_SEND}"
        return 422, f"body must be a JSON object, got {_kind(value)}: send " + '{"texts": ["some text"]}.'
    if loc == ("texts",):
        if kind == "missing":
            return 422, "'texts' is missing: send {\"texts\": [\"some text\"]}."
        if kind == "list_type" and isinstance(value, str):
            return 422, "'texts' must be a list of strings, got a string: wrap it as {\"texts\": [\"...\"]}."
        if kind == "list_type":
            return 422, f"'texts' must be a list of strings, got {_kind(value)}."
        if kind == "too_short":
            return 422, "'texts' is empty: send at least one text."
        if kind == "too_long":
            return 422, (f"'texts' holds {ctx.get('actual_length') or len(value)} texts, over the "
                         f"limit of {limits.max_texts} per request; split it into several requests.")
    if len(loc) == 2 and loc[0] == "texts" and isinstance(loc[1], int):
        where = f"texts[{loc[1]}]"
        if kind == "string_type":
            return 422, f"{where} must be a string, got {_kind(value)}."
        if kind in ("string_pattern_mismatch", "string_too_short"):
            return 422, f"{where} is empty or only whitespace: remove it, the model cannot classify nothing."
        if kind == "string_too_long":
            return 422, (f"{where} has {len(value)} characters, over the limit of "
                         f"{limits.max_chars}; shorten it or raise --max-chars.")
        if kind in ("text_surrogate", "string_unicode"):  # a "\ud800" escape: half a character
            return 422, (f"{where} holds half a character (an unpaired surrogate escape such as "
                         "\\ud800): send valid Unicode text.")
    field = "".join(f"[{x}]" if isinstance(x, int) else (f".{x}" if i else str(x))
                    for i, x in enumerate(loc)) or "body"
    return 422, f"{field}: {error.get('msg', kind)}; {_SEND}"
