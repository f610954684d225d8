"""What logging, metrics and a rate limit cost on the hot ``authenticated_request`` path.

    python benchmarks/bench_observability.py [--rounds 7] [--requests 3000]

A client holding a valid token sends through an in-process ``httpx.MockTransport`` (the helpers
of ``bench_request.py``), once with everything off and once with the ``mcp_oauth_dynamicclient``
logger at INFO into a handler, a ``MetricsCollector`` and a generous ``RateLimit`` (1e9/s) on.
The two alternate in the same process; the medians of the rounds are compared (target: < 3%).
``authenticated_request`` records its latency in the collector and logs at DEBUG only, so at
INFO the log costs one ``isEnabledFor`` check per request.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_request import ISSUER, RESOURCE, _ok, _prime, _seeded_token, _time_async

from mcp_oauth_dynamicclient import OAuth2Client, RateLimit
from mcp_oauth_dynamicclient.metrics import MetricsCollector


async def _client(observed: bool) -> OAuth2Client:
    options = (
        {"metrics_collector": MetricsCollector(), "rate_limit": RateLimit(1e9, burst=1000)}
        if observed
        else {}
    )
    client = OAuth2Client(
        ISSUER,
        client_id="c",
        client_secret="s",
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(_ok)),
        **options,
    )
    _prime(client)
    await client._keep(await client.register(), _seeded_token())
    return client


async def run(rounds: int, count: int) -> dict[str, float]:
    logger = logging.getLogger("mcp_oauth_dynamicclient")
    handler = logging.StreamHandler(open("/dev/null", "w"))  # noqa: SIM115
    off, on = await _client(False), await _client(True)
    times: dict[str, list[float]] = {"off": [], "on": []}
    for index in range(rounds):
        order = [("off", off), ("on", on)]
        for name, client in order if index % 2 else reversed(order):
            if name == "on":
                logger.addHandler(handler)
                logger.setLevel(logging.INFO)
            else:
                logger.removeHandler(handler)
                logger.setLevel(logging.WARNING)
            times[name].append(
                await _time_async(lambda c=client: c.authenticated_request("GET", RESOURCE), count)
            )
    logger.removeHandler(handler)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    medians = asyncio.run(run(args.rounds, args.requests))
    overhead = (medians["on"] / medians["off"] - 1) * 100
    print(f"authenticated_request, median of {args.rounds} x {args.requests} (async)")
    print(f"  all off             {medians['off']:7.1f} µs")
    print(f"  log+metrics+limit   {medians['on']:7.1f} µs   {overhead:+.1f}% (target < 3%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
