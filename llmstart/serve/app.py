"""The HTTP service: FastAPI routes over an :class:`~llmstart.serve.engine.Engine` and a batcher.

Routes:

- ``POST /v1/classify`` ``{"texts": [...]}`` -> ``{"model": ..., "predictions": [{"label", "score",
  "scores", "abstain"}, ...]}``, one prediction per text, in order;
- ``GET /healthz`` (the process is up), ``GET /readyz`` (the model is loaded and answers);
- ``GET /v1/model`` (name, labels, backend, training metrics, where the weights came from);
- ``GET /metrics`` (Prometheus text).

Every refused request gets a JSON body ``{"error": "...", "status": N}``; a full queue gets 503
with ``Retry-After``.

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

from __future__ import annotations

import asyncio
import time

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from llmstart.drift import DriftMonitor
from llmstart.serve.batcher import Batcher, QueueFull
from llmstart.serve.metrics import CONTENT_TYPE, ServiceMetrics
from llmstart.serve.validate import Limits, RequestError, parse_classify_body

__all__ = ["create_app"]


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers)


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refusing (413) as soon as it is known to be over ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"body is {declared} bytes, over the limit of {limit}; send fewer "
                                "or shorter texts per request.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"body is over the limit of {limit} bytes; send fewer or "
                                    "shorter texts per request.")
        chunks.append(chunk)
    return b"".join(chunks)


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
    threshold = engine.settings.abstain_threshold
    state = {"ready": False}

    async def lifespan(app: FastAPI):
        await batcher.start()
        await batcher.submit(["warm-up"])  # the first call pays one-off costs, not a client
        state["ready"] = True
        yield
        state["ready"] = False
        await batcher.stop()

    app = FastAPI(title="llmstart classifier", lifespan=lifespan)
    app.state.engine, app.state.batcher, app.state.metrics, app.state.drift = engine, batcher, metrics, drift

    @app.middleware("http")
    async def count_requests(request: Request, call_next):
        start = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception:  # never let one request take the service down
            response = _error(500, "internal error while answering; the service is still up")
        known = request.url.path in {"/v1/classify", "/healthz", "/readyz", "/v1/model", "/metrics"}
        path = request.url.path if known else "other"
        metrics.requests.labels(path=path, status=str(response.status_code)).inc()
        metrics.latency.labels(path=path).observe(time.perf_counter() - start)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = {404: f"no route {request.url.path}; see GET /v1/model, POST /v1/classify",
                   405: f"method {request.method} not allowed on {request.url.path}"}.get(
            exc.status_code, str(exc.detail))
        return _error(exc.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        return _error(422, str(exc.errors()))

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz():
        if not state["ready"]:
            return _error(503, "model not loaded yet", {"Retry-After": "1"})
        try:
            await asyncio.wait_for(batcher.submit(["ready?"]), timeout=10)
        except QueueFull as err:
            return _error(503, f"busy: {err}", {"Retry-After": str(err.retry_after)})
        except Exception as err:
            return _error(503, f"model not answering: {type(err).__name__}: {err}")
        return {"status": "ready", "model": engine.name, "backend": getattr(engine, "backend", None)}

    @app.get("/v1/model")
    async def model_info():
        return engine.info()

    @app.get("/metrics")
    async def prometheus():
        metrics.queue.set(batcher.pending)
        if drift is not None:
            metrics.record_drift(drift.check())
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @app.post("/v1/classify")
    async def classify(request: Request):
        try:
            texts = parse_classify_body(await _read_body(request, limits.max_body_bytes), limits)
        except RequestError as err:
            return _error(err.status, err.message)
        try:
            probs = await batcher.submit(texts)
        except QueueFull as err:
            metrics.rejected.inc()
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

    return app
