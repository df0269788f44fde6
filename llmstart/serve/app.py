"""The HTTP service: FastAPI routes over an :class:`~llmstart.serve.engine.Engine` and a batcher.

Routes:

- ``POST /v1/classify`` ``{"texts": [...]}`` -> ``{"model": ..., "predictions": [{"label", "score",
  "scores", "abstain"}, ...]}``, one prediction per text, in order;
- ``GET /healthz`` (the process is up), ``GET /readyz`` (the model is loaded and answers);
- ``GET /v1/model`` (name, labels, backend, training metrics, where the weights came from);
- ``GET /metrics`` (Prometheus text);
- ``GET /docs`` (Swagger UI) and ``GET /redoc`` (ReDoc) show ``/openapi.json``; their script and
  style are served by the service itself (:data:`DOCS_ASSETS`), so they work offline.

Every request body and answer is a pydantic model (:mod:`llmstart.serve.schema`), so
``/openapi.json`` and ``/docs`` state the whole contract, limits included, and FastAPI validates
against it. Every refused request gets a JSON body ``{"error": "...", "status": N}`` whose
sentence says what is wrong and what to send instead; a full queue gets 503 with ``Retry-After``,
a wrong method 405 with ``Allow``.

>>> from fastapi.testclient import TestClient
>>> import numpy as np
>>> from llmstart.serve import ServingSettings
>>> class Fake:  # any object with labels, settings, predict_proba, info
...     labels, name = ["neg", "pos"], "fake"
...     settings = ServingSettings()
...     def predict_proba(self, texts): return np.tile([0.2, 0.8], (len(texts), 1))
...     def info(self): return {"name": "fake"}
>>> with TestClient(create_app(Fake())) as client:
...     client.post("/v1/classify", json={"texts": ["nice"]}).json()["predictions"][0]["label"]
'pos'
"""

import asyncio
import email.message
import logging
import time

import numpy as np
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException

from llmstart.serve.batcher import Batcher, QueueFull
from llmstart.serve.drift import DriftMonitor
from llmstart.serve.monitoring import CONTENT_TYPE, ServiceMetrics
from llmstart.serve.request_checks import Limits
from llmstart.serve.schema import (
    ClassifyResponse,
    ErrorBody,
    Health,
    ModelInfo,
    Ready,
    classify_request_model,
    error_responses,
    explain,
)

__all__ = ["create_app", "openapi_document", "API_VERSION"]

log = logging.getLogger(__name__)

#: The contract's version (the ``/v1`` in the paths), not the package's: a release that keeps the
#: contract keeps ``docs/openapi.json`` byte for byte.
API_VERSION = "1"
PATHS = ("/v1/classify", "/healthz", "/readyz", "/v1/model", "/metrics")
#: Where Swagger UI's and ReDoc's script, style and icon are served from (fastapi-offline's files).
DOCS_ASSETS = "/static-offline-docs"
DESCRIPTION = """A fine-tuned text classifier served by `llmstart serve`.

Send texts to `POST /v1/classify` as JSON (`Content-Type: application/json`); each answer holds the
label, its probability (`score`), every label's probability (`scores`) and `abstain` (true: hand
the text to a person). Every refused request is answered with `{"error": "...", "status": N}`,
one sentence saying which field, what limit and what to send instead. A path not listed here
answers 404; a listed path asked with another method answers 405 with `Allow`."""


class PrometheusResponse(Response):
    """``/metrics``: the Prometheus text exposition format."""

    media_type = CONTENT_TYPE


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers)


class _BodyLimit:
    """413 as soon as a body is known to be over ``limit`` bytes, while it is read, before parsing.

    (FastAPI's own ``max_body_size`` answers a declared oversize body in plain text; this one
    raises the HTTP error inside the route, so the JSON error handler words the answer.)"""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = Headers(scope=scope).get("content-length", "")
        size = 0

        async def limited_receive():
            nonlocal size
            if declared.isdigit() and int(declared) > self.limit:
                raise HTTPException(413)
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > self.limit:
                    raise HTTPException(413)
            return message

        await self.app(scope, limited_receive, send)


def _require_json(request: Request) -> None:
    """415 for a body sent as anything but JSON (no Content-Type at all is read as JSON)."""
    declared = request.headers.get("content-type")
    if not declared:
        return
    message = email.message.Message()
    message["content-type"] = declared
    subtype = message.get_content_subtype()
    if message.get_content_maintype() != "application" or not (subtype == "json"
                                                                or subtype.endswith("+json")):
        raise StarletteHTTPException(415, f"Content-Type is {declared!r}, not JSON: send the body "
                                          "as JSON with Content-Type: application/json (curl: -H "
                                          "'Content-Type: application/json').")


def create_app(engine, *, limits: Limits | None = None, max_batch: int = 32, max_wait_ms: float = 0.0,
               max_pending: int = 512, drift_window: int = 500) -> FastAPI:
    """Build the service around a loaded engine (see the module docstring)."""
    limits = limits or Limits()
    if max_pending < limits.max_texts:
        raise ValueError(f"max_pending ({max_pending}) must be at least max_texts ({limits.max_texts}), "
                         "or a full-size request could never be accepted")
    metrics = ServiceMetrics(engine.labels)
    batcher = Batcher(engine.predict_proba, max_batch=max_batch, max_wait_ms=max_wait_ms,
                      max_pending=max_pending, on_batch=metrics.batch_size.observe)
    reference = engine.settings.reference
    drift = DriftMonitor(reference, window=drift_window) if reference else None
    state = {"ready": False}

    async def lifespan(app: FastAPI):
        await batcher.start()
        await batcher.submit(["warm-up"])  # the first call pays one-off costs, not a client
        state["ready"] = True
        yield
        state["ready"] = False
        await batcher.stop()

    # strict_content_type off: a body sent with no Content-Type at all is read as JSON.
    # FastAPIOffline: FastAPI whose /docs (Swagger UI) and /redoc load their script and style from
    # files installed with the package (mounted at DOCS_ASSETS, outside the schema), not from a
    # CDN, so they render on a machine with no network.
    app = FastAPIOffline(title="llmstart classifier", version=API_VERSION, description=DESCRIPTION,
                         lifespan=lifespan, strict_content_type=False, static_url=DOCS_ASSETS,
                         responses=error_responses(404, 405, 500))
    app.state.engine, app.state.batcher, app.state.metrics, app.state.drift = engine, batcher, metrics, drift
    app.add_middleware(_BodyLimit, limit=limits.max_body_bytes)  # inside count_requests (added next)
    build_openapi = app.openapi

    def openapi() -> dict:  # error answers name ErrorBody by reference: define it once
        if app.openapi_schema is None:
            build_openapi()["components"]["schemas"]["ErrorBody"] = ErrorBody.model_json_schema()
        return app.openapi_schema

    app.openapi = openapi
    _add_error_handling(app, metrics, limits)
    _add_status_routes(app, engine, batcher, metrics, drift, state)
    _add_classify_route(app, engine, batcher, metrics, drift, classify_request_model(limits))
    return app


def _add_error_handling(app: FastAPI, metrics: ServiceMetrics, limits: Limits) -> None:
    """Count every request; answer every error as ``{"error", "status"}``; log every 500 with its traceback."""

    @app.middleware("http")
    async def count_requests(request: Request, call_next):
        start = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception:  # never let one request take the service down; say why in the log
            log.exception("%s %s failed: answered 500", request.method, request.url.path)
            response = _error(500, "internal error while answering; the service is still up")
        path = request.url.path if request.url.path in PATHS else "other"
        metrics.requests.labels(path=path, status=str(response.status_code)).inc()
        metrics.latency.labels(path=path).observe(time.perf_counter() - start)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        status, cause = exc.status_code, exc.__cause__
        if status == 413:
            declared = request.headers.get("content-length", "")
            size = f"is {declared} bytes, over" if declared.isdigit() else "is over"
            message = (f"body {size} the limit of {limits.max_body_bytes} bytes; send fewer or "
                       "shorter texts per request.")
        elif status == 400 and isinstance(cause, UnicodeDecodeError):
            message = f"body is not valid UTF-8 (byte {cause.start}); encode the JSON as UTF-8."
        elif status == 400 and cause is not None:  # JSON too deep, or a number too long to read
            message = 'body is not valid JSON: send JSON like {"texts": ["some text"]}.'
        elif status == 404:
            message = f"no route {request.url.path}; see GET /v1/model, POST /v1/classify, GET /docs"
        elif status == 405:
            message = (f"method {request.method} not allowed on {request.url.path}; it answers "
                       f"{(exc.headers or {}).get('Allow', 'other methods')}")
        else:
            message = str(exc.detail)
        if status >= 500:
            log.error("%s %s answered %d: %s", request.method, request.url.path, status, message,
                      exc_info=exc)
        return _error(status, message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        status, message = explain(exc.errors(), limits, body=exc.body)
        return _error(status, message)


def _add_status_routes(app: FastAPI, engine, batcher: Batcher, metrics: ServiceMetrics,
                       drift: DriftMonitor | None, state: dict) -> None:
    """``/healthz``, ``/readyz``, ``/v1/model`` and ``/metrics``, in the contract's order."""

    @app.get("/healthz", response_model=Health, summary="The process is up")
    async def healthz():
        return {"status": "ok"}

    @app.get("/readyz", response_model=Ready, responses=error_responses(503),
             summary="The model is loaded and answers")
    async def readyz():
        if not state["ready"]:
            return _error(503, "model not loaded yet", {"Retry-After": "1"})
        try:
            await asyncio.wait_for(batcher.submit(["ready?"]), timeout=10)
        except QueueFull as err:
            log.warning("GET /readyz answered 503: busy: %s", err)
            return _error(503, f"busy: {err}", {"Retry-After": str(err.retry_after)})
        except Exception as err:
            log.exception("GET /readyz answered 503: the model did not answer")
            return _error(503, f"model not answering: {type(err).__name__}: {err}", {"Retry-After": "5"})
        return {"status": "ready", "model": engine.name, "backend": getattr(engine, "backend", None)}

    @app.get("/v1/model", response_model=ModelInfo,
             summary="What is served: labels, backend, temperature, abstain threshold, training metrics")
    async def model_info():
        return engine.info()

    @app.get("/metrics", response_class=PrometheusResponse, summary="Prometheus metrics",
             responses={200: {"description": "Prometheus text exposition format",
                              "content": {CONTENT_TYPE: {"schema": {"type": "string"}}}}})
    async def prometheus():
        metrics.queue.set(batcher.pending)
        if drift is not None:
            metrics.record_drift(drift.check())
        return PrometheusResponse(metrics.render())


def _add_classify_route(app: FastAPI, engine, batcher: Batcher, metrics: ServiceMetrics,
                        drift: DriftMonitor | None, ClassifyRequest) -> None:  # noqa: N803 (a class)
    """``POST /v1/classify``: the texts through the batcher, one prediction per text, in order."""
    threshold = engine.settings.abstain_threshold

    @app.post("/v1/classify", response_model=ClassifyResponse, dependencies=[Depends(_require_json)],
              responses=error_responses(400, 413, 415, 422, 503),
              summary="Classify texts: one prediction per text, in order")
    async def classify(body: ClassifyRequest):
        texts = body.texts
        try:
            probs = await batcher.submit(texts)
        except QueueFull as err:
            metrics.rejected.inc()
            log.warning("POST /v1/classify answered 503: service busy: %s", err)
            return _error(503, f"service busy: {err}", {"Retry-After": str(err.retry_after)})
        best = probs.argmax(1)
        conf = probs[np.arange(len(probs)), best]
        labels = [engine.labels[k] for k in best]
        abstain = conf < threshold
        metrics.record_predictions(labels, conf.tolist(), int(abstain.sum()))
        if drift is not None:
            drift.update(probs)
        return {"model": engine.name, "predictions": [
            {"label": lab, "score": float(c), "abstain": bool(a),
             "scores": {n: float(p) for n, p in zip(engine.labels, row, strict=True)}}
            for lab, c, a, row in zip(labels, conf, abstain, probs, strict=True)]}


class _NoEngine:
    """Stands in for a model when only the contract is wanted (no weights are loaded)."""

    name, labels, backend = "", [], None

    def __init__(self):
        from llmstart.serve.folder import ServingSettings

        self.settings = ServingSettings()

    def predict_proba(self, texts):
        raise RuntimeError("no model is loaded: this app only describes the contract")


def openapi_document(limits: Limits | None = None) -> dict:
    """The service's OpenAPI document for ``limits``, without loading a model.

    ``python -m llmstart serve --print-openapi > docs/openapi.json`` writes it for the defaults.

    >>> doc = openapi_document(Limits(max_texts=8, max_chars=200))
    >>> doc["components"]["schemas"]["ClassifyRequest"]["properties"]["texts"]["maxItems"]
    8
    """
    limits = limits or Limits()
    return create_app(_NoEngine(), limits=limits, max_pending=max(512, limits.max_texts)).openapi()
