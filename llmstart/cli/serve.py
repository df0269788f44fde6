"""``llmstart serve``: answer HTTP requests with a fine-tuned classifier folder.

Example::

    python -m llmstart serve --model my-model --port 8000
    curl -s localhost:8000/v1/classify -H 'Content-Type: application/json' \
         -d '{"texts": ["Arrived broken."]}'
    python -m llmstart serve --print-openapi > docs/openapi.json   # the contract, no model loaded
"""

from __future__ import annotations

import argparse
import sys

from llmstart.models.hub import DEFAULT_MAX_LENGTH


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``serve`` and its options."""
    p = subparsers.add_parser("serve", help="serve a fine-tuned classifier over HTTP (FastAPI)")
    p.add_argument("--model", help="folder written by `llmstart train` or save_model (required, "
                                    "except with --print-openapi)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--backend", choices=["float", "bf16", "int8", "onnx"], default="float",
                   help="float: as trained; bf16: bfloat16 autocast (CPUs with native bf16, GPUs); "
                        "int8: dynamic quantisation; onnx: ONNX Runtime")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="auto: a CUDA GPU when there is one (float and bf16 backends), else the CPU")
    p.add_argument("--threads", type=int, default=None, help="inference threads (default: all cores). Idle threads sleep "
                   "(OMP_WAIT_POLICY=PASSIVE); on a machine that serves only this, OMP_WAIT_POLICY=ACTIVE "
                   "answers one-text requests a few ms sooner")
    p.add_argument("--max-batch", type=int, default=32, help="most texts per model call")
    p.add_argument("--max-wait-ms", type=float, default=0.0,
                   help="how long the first waiting request waits for others to join its batch (0: "
                        "take what is waiting; while the model is busy, the next batch forms by itself)")
    p.add_argument("--max-pending", type=int, default=512,
                   help="most texts waiting at once; beyond it the service answers 503")
    p.add_argument("--max-texts", type=int, default=64, help="most texts per request")
    p.add_argument("--max-chars", type=int, default=5000, help="most characters per text")
    p.add_argument("--max-body-bytes", type=int, default=1_000_000, help="largest request body")
    p.add_argument("--max-length", type=int, default=None,
                   help="tokens kept per text (default %(default)s: what train used, from the model folder's metrics.json; "
                        f"{DEFAULT_MAX_LENGTH} without one)")
    p.add_argument("--drift-window", type=int, default=500,
                   help="live predictions the drift check compares with the reference in serving.json")
    p.add_argument("--log-level", default="warning")
    p.add_argument("--print-openapi", action="store_true",
                   help="print the OpenAPI document of the service these limits give, and exit "
                        "(loads no model; the defaults' copy is docs/openapi.json)")
    return p


def run(args: argparse.Namespace) -> int:
    """Load the model (exit 2 with one line if the folder is unusable), then serve until stopped."""
    import os

    if args.print_openapi:
        return _print_openapi(args)
    if not args.model:
        print("llmstart serve: --model is required: pass the folder that `llmstart train --out DIR` "
              "wrote (or --print-openapi to print the API's contract).", file=sys.stderr)
        return 2

    # Idle OpenMP threads sleep instead of spinning (set before torch loads its OpenMP runtime):
    # on a machine shared with other work, spinning threads that lose their core made one-text
    # requests 15x slower here (1,062 ms against 65 ms at the median). Set the variable to override.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from llmstart.serve import ModelFolderError, build_app

    try:
        app = build_app(args.model, backend=args.backend, threads=args.threads,
                        max_batch=args.max_batch, max_wait_ms=args.max_wait_ms,
                        max_pending=args.max_pending, max_texts=args.max_texts,
                        max_chars=args.max_chars, max_body_bytes=args.max_body_bytes,
                        max_length=args.max_length, drift_window=args.drift_window,
                        device=args.device)
    except (ModelFolderError, ValueError) as err:
        print(f"llmstart serve: {err}", file=sys.stderr)
        return 2
    import uvicorn

    print(f"serving {args.model} ({args.backend}, {app.state.engine.device}) on http://{args.host}:{args.port} "
          "(POST /v1/classify, GET /healthz /readyz /v1/model /metrics)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    return 0


def _print_openapi(args: argparse.Namespace) -> int:
    import json

    from llmstart.serve import Limits
    from llmstart.serve.app import openapi_document

    try:
        limits = Limits(max_texts=args.max_texts, max_chars=args.max_chars,
                        max_body_bytes=args.max_body_bytes)
    except ValueError as err:
        print(f"llmstart serve: {err}", file=sys.stderr)
        return 2
    print(json.dumps(openapi_document(limits), indent=2, ensure_ascii=False))
    return 0
