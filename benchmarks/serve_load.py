"""Loopback load test: `llmstart serve` (float, bf16, int8, ONNX) against the naive service.

The naive service is what a user writes first: a FastAPI route that calls a transformers
``pipeline`` once per request. Each service runs in its own process on 127.0.0.1, one at a
time, with the same number of inference threads; 1, 8 and 32 concurrent clients each send a
bounded number of one-text requests. Prints throughput and p50/p95/p99 latency, and the ratios
measured in this one run.

    python benchmarks/serve_load.py --model runs/tweets --threads 2
    python benchmarks/serve_load.py --model runs/tweets --backends float --clients 1 32

Timings depend on the machine and on whatever else runs on it: say so when you quote them.
`llmstart serve` sets ``OMP_WAIT_POLICY=PASSIVE`` unless the environment sets it (idle OpenMP
threads sleep rather than spin); the naive service runs as a user would start it, without it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
from pydantic import BaseModel

ENV_THREADS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Body(BaseModel):  # module level: FastAPI must resolve the annotation of the route below
    texts: list[str]


def naive_app(model: str, threads: int):
    """The first service a user writes: one pipeline call per request, no batching."""
    import torch
    from fastapi import FastAPI
    from transformers import pipeline

    torch.set_num_threads(threads)
    pipe = pipeline("text-classification", model=model, tokenizer=model, top_k=None, device="cpu")
    app = FastAPI()

    @app.post("/v1/classify")
    def classify(body: Body):
        out = pipe(body.texts)
        return {"predictions": [{"label": max(r, key=lambda d: d["score"])["label"],
                                 "scores": {d["label"]: d["score"] for d in r}} for r in out]}

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app


def start(kind: str, model: str, threads: int, serve_args: tuple[str, ...] = ()) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1",
           **{k: str(threads) for k in ENV_THREADS}}
    if kind == "naive":
        cmd = [sys.executable, __file__, "--naive-server", model, "--port", str(port),
               "--threads", str(threads)]
    else:
        cmd = [sys.executable, "-m", "llmstart", "serve", "--model", model, "--port", str(port),
               "--backend", kind, "--threads", str(threads), "--max-pending", "4096", *serve_args]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(900):  # at most 180 s (ONNX export on a busy machine)
        if proc.poll() is not None:
            raise RuntimeError(f"{kind} server exited: {proc.stderr.read()[-2000:]}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{kind} server did not start")


async def load(url: str, texts: list[str], clients: int, per_client: int) -> dict:
    latencies: list[float] = []

    async def client(k: int, http: httpx.AsyncClient):
        for i in range(per_client):
            text = texts[(k * per_client + i) % len(texts)]
            t0 = time.perf_counter()
            r = await http.post(url + "/v1/classify", json={"texts": [text]})
            latencies.append(time.perf_counter() - t0)
            r.raise_for_status()

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        await client(0, http)  # warm-up, not counted
        latencies.clear()
        t0 = time.perf_counter()
        await asyncio.gather(*(client(k, http) for k in range(clients)))
        wall = time.perf_counter() - t0
    ms = np.array(latencies) * 1000
    return {"clients": clients, "requests": len(ms), "throughput": len(ms) / wall,
            "p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
            "p99_ms": float(np.percentile(ms, 99))}


def labels_of(url: str, texts: list[str]) -> list[str]:
    out = []
    for i in range(0, len(texts), 16):
        r = httpx.post(url + "/v1/classify", json={"texts": texts[i:i + 16]}, timeout=120)
        r.raise_for_status()
        out += [p["label"] for p in r.json()["predictions"]]
    return out


def sample_texts(n: int) -> list[str]:
    from llmstart.corpora import load_corpus

    df = load_corpus("tweet_sentiment").sample(n, random_state=0)
    return df["text"].str.slice(0, 500).tolist()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="folder written by `llmstart train` or save_model")
    p.add_argument("--backends", nargs="+", default=["float", "bf16", "int8", "onnx", "naive"])
    p.add_argument("--clients", nargs="+", type=int, default=[1, 8, 32])
    p.add_argument("--requests", type=int, default=96, help="requests per concurrency level (bounded)")
    p.add_argument("--threads", type=int, default=2, help="inference threads of every service")
    p.add_argument("--json", help="also write the results here")
    p.add_argument("--serve-args", nargs="+", default=[], metavar="ARG",
                   help="more options for `llmstart serve`, e.g. --serve-args=--max-wait-ms=0")
    p.add_argument("--naive-server", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, default=8001, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.naive_server:
        import uvicorn

        uvicorn.run(naive_app(args.naive_server, args.threads), host="127.0.0.1", port=args.port,
                    log_level="warning", access_log=False)
        return 0
    if not args.model or not Path(args.model).is_dir():
        p.error(f"--model: {args.model!r} is not a folder written by `llmstart train`")
    texts = sample_texts(256)
    check = texts[:32]
    rows, answers = [], {}
    for kind in args.backends:
        try:
            proc, url = start(kind, args.model, args.threads, tuple(args.serve_args))
        except RuntimeError as err:  # e.g. bf16 on a CPU without native bf16: say so, measure the rest
            print(f"{kind}: not measured ({str(err).strip().splitlines()[-1]})", flush=True)
            continue
        try:
            answers[kind] = labels_of(url, check)
            for c in args.clients:
                per_client = max(1, args.requests // c)
                r = asyncio.run(load(url, texts, c, per_client))
                rows.append({"service": kind if kind == "naive" else f"llmstart serve ({kind})", **r})
                print(f"{rows[-1]['service']:<26} clients {c:>2}  {r['requests']:>4} req  "
                      f"{r['throughput']:7.1f} req/s  p50 {r['p50_ms']:7.1f} ms  "
                      f"p95 {r['p95_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms", flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    import pandas as pd

    table = pd.DataFrame(rows).round(1)
    print()
    print(table.to_string(index=False))
    result = {"threads": args.threads, "rows": rows, "agreement": {}}
    if "naive" in answers:
        for kind in answers:
            if kind != "naive":
                agree = float(np.mean([a == b for a, b in zip(answers[kind], answers["naive"], strict=True)]))
                result["agreement"][kind] = agree
                print(f"{kind} vs naive: same label on {agree:.0%} of {len(check)} texts")

        def get(service, c, key):
            return next((r[key] for r in rows if r["service"] == service and r["clients"] == c), None)

        naive32, float32 = get("naive", max(args.clients), "throughput"), get(
            "llmstart serve (float)", max(args.clients), "throughput")
        naive_p95, float_p95 = get("naive", min(args.clients), "p95_ms"), get(
            "llmstart serve (float)", min(args.clients), "p95_ms")
        if naive32 and float32:
            result["throughput_ratio"] = float32 / naive32
            print(f"throughput at {max(args.clients)} clients, float / naive: {float32 / naive32:.2f}x")
        if naive_p95 and float_p95:
            result["p95_ratio_1_client"] = float_p95 / naive_p95
            print(f"p95 at {min(args.clients)} client, float / naive: {float_p95 / naive_p95:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
