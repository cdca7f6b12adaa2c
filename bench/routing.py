"""The routing decision (domain/routing.choose) over 1,000 candidate bid profiles: p50 and p99.

    .venv/bin/python bench/routing.py [runs]
"""
from __future__ import annotations

import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chalicelib.domain.routing import CallFacts, Candidate, choose  # noqa: E402

STATES = ["CA", "NY", "TX", "FL", "WA", "IL", "NV", "AZ"]


def candidates(n: int, rng: random.Random) -> list[Candidate]:
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    return [Candidate(
        profile_id=f"p{i:05d}", seller_id=f"s{i % 200}", bid_amount=rng.randrange(5_000, 200_000, 100),
        created_at=start + timedelta(minutes=i), countries=("US",) if rng.random() < 0.8 else (),
        states=tuple(rng.sample(STATES, rng.randint(0, 3))), call_types=rng.choice([(), ("insurance",), ("legal", "insurance")]),
        keywords=tuple(rng.sample(["auto", "home", "life", "debt"], rng.randint(0, 2))),
        budget_left=rng.choice([None, 0, 50_000, 1_000_000])) for i in range(n)]


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000
    rng = random.Random(7)
    pool = candidates(1_000, rng)
    call = CallFacts("US", "CA", "insurance", ("auto",))
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        choose(pool, call)
        timings.append(time.perf_counter() - started)
    timings.sort()
    print(f"routing decision over {len(pool)} candidates, {runs} runs")
    print(f"  p50 {statistics.median(timings) * 1e3:.3f} ms   p99 {timings[int(runs * 0.99) - 1] * 1e3:.3f} ms   "
          f"max {timings[-1] * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
