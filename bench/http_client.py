"""HTTP clients against the fake Graph API: how many sends per second each keeps in flight.

    .venv/bin/python -m bench.http_client --requests 2000 --concurrency 200 --latency 0.1

Posts Cloud API text messages at the fake (real loopback HTTP, `--latency` seconds per answer) with
`--concurrency` requests in flight, through httpx.AsyncClient, aiohttp and httpx.Client from a thread
pool (what the outbox used), one after another in the same run so they share the machine's load.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PHONE_ID, WABA_ID, TOKEN = "106540352242922", "102290129340398", "EAAG" + "c" * 40


def _payload(n: int) -> dict:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": f"1415{5550000 + n:07d}",
            "type": "text", "text": {"preview_url": False, "body": f"Hello {n}"}}


async def _run_async(count: int, concurrency: int, post) -> None:
    """Keep `concurrency` posts in flight until `count` are answered."""
    semaphore = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        async with semaphore:
            await post(_payload(n))

    await asyncio.gather(*(one(n) for n in range(count)))


def bench_httpx_async(url: str, count: int, concurrency: int) -> float:
    """httpx.AsyncClient with a pool as large as the concurrency; returns requests/s."""
    import httpx

    async def main() -> float:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(limits=limits, timeout=60, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
            async def post(body):
                (await c.post(url, json=body)).raise_for_status()
            started = time.perf_counter()
            await _run_async(count, concurrency, post)
            return count / (time.perf_counter() - started)

    return asyncio.run(main())


def bench_aiohttp(url: str, count: int, concurrency: int) -> float:
    """aiohttp.ClientSession with a connector as large as the concurrency; returns requests/s."""
    import aiohttp

    async def main() -> float:
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector, headers={"Authorization": f"Bearer {TOKEN}"},
                                         timeout=aiohttp.ClientTimeout(total=60)) as session:
            async def post(body):
                async with session.post(url, json=body) as response:
                    response.raise_for_status()
                    await response.json()
            started = time.perf_counter()
            await _run_async(count, concurrency, post)
            return count / (time.perf_counter() - started)

    return asyncio.run(main())


def bench_httpx_threads(url: str, count: int, concurrency: int) -> float:
    """A shared httpx.Client from `concurrency` threads; returns requests/s."""
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(limits=limits, timeout=60, headers={"Authorization": f"Bearer {TOKEN}"}) as client, \
            ThreadPoolExecutor(max_workers=concurrency) as pool:
        started = time.perf_counter()
        list(pool.map(lambda n: client.post(url, json=_payload(n)).raise_for_status(), range(count)))
        return count / (time.perf_counter() - started)


CLIENTS = {"httpx.AsyncClient": bench_httpx_async, "aiohttp": bench_aiohttp,
           "httpx.Client+threads": bench_httpx_threads}


def main() -> int:
    """Run every client against one fake and print requests/s."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--clients", default=",".join(CLIENTS), help="comma-separated subset of " + ", ".join(CLIENTS))
    args = parser.parse_args()

    from tests.fakes import FakeGraphAPI

    with FakeGraphAPI(latency=args.latency) as graph:
        graph.add_phone_number(PHONE_ID, TOKEN, waba_id=WABA_ID)
        url = f"{graph.url}/{graph.api_version}/{PHONE_ID}/messages"
        ideal = args.concurrency / args.latency
        print(f"{args.requests} posts, {args.concurrency} in flight, fake Graph API latency "
              f"{args.latency * 1000:.0f} ms (ceiling {ideal:.0f}/s)")
        for name in args.clients.split(","):
            rate = CLIENTS[name](url, args.requests, args.concurrency)
            print(f"{name:22s} {rate:8.0f} requests/s")
        assert len(graph.sent) == args.requests * len(args.clients.split(","))
    return 0


if __name__ == "__main__":
    sys.exit(main())
