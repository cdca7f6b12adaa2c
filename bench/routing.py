"""The routing decision production makes (domain/routing.considered) over 1,000 and 10,000 candidate bid
profiles: p50, p99 and max, in elapsed and CPU time.

Instant routing and a live call's ring tree both call `considered(candidates, facts, now, call.owner_id)`
(services/bid_profiles.considered_for), with the routable profiles listed under the call's country and
state keys. So every candidate here matches the call (the worst case: every active profile is one the
call can go to), with a daily budget that is unlimited, spent or left, and `considered` orders them, best
first, each with why its terms pass it over (None: it may take the call).

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

from chalicelib.domain.routing import CallFacts, Candidate, considered, matches  # noqa: E402

CALL = CallFacts("US", "CA", "insurance", ("auto",))
NOW = datetime(2026, 6, 1, 15, tzinfo=timezone.utc)
BUYER = "buyer"  # the call's owner: none of its profiles here (a buyer sells calls, it does not bid)
OTHER_STATES = ["NY", "TX", "FL", "WA", "IL", "NV", "AZ"]


def candidates(n: int, rng: random.Random) -> list[Candidate]:
    """`n` candidates matching CALL, with criteria as varied as matching allows."""
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    pool = [Candidate(
        profile_id=f"p{i:05d}", seller_id=f"s{i % 200}", bid_amount=rng.randrange(5_000, 200_000, 100),
        created_at=start + timedelta(minutes=i), countries=("US",) if rng.random() < 0.8 else (),
        states=("CA", *rng.sample(OTHER_STATES, rng.randint(0, 2))) if rng.random() < 0.7 else (),
        call_types=rng.choice([(), ("insurance",), ("legal", "insurance")]),
        keywords=("auto", *rng.sample(["home", "life", "debt"], rng.randint(0, 2))) if rng.random() < 0.5 else (),
        budget_left=rng.choice([None, 0, 50_000, 1_000_000])) for i in range(n)]
    assert all(matches(c, CALL) for c in pool)
    rng.shuffle(pool)  # route entries come sorted by random profile ids: in no order of bid
    return pool


def measure(size: int, runs: int) -> None:
    """Prints p50 / p99 / max of considered() over `size` candidates, in elapsed time and in this thread's CPU
    time (which a busy machine preempting the process does not inflate)."""
    pool = candidates(size, random.Random(7))
    elapsed, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.thread_time()
        ranked = [c for c, reason in considered(pool, CALL, NOW, BUYER) if reason is None]
        cpu.append(time.thread_time() - started_cpu)
        elapsed.append(time.perf_counter() - started)
    print(f"routing decision (considered) over {len(pool):,} matching candidates ({len(ranked):,} with budget left), "
          f"{runs} runs")
    for label, timings in (("elapsed", elapsed), ("cpu    ", cpu)):
        timings.sort()
        print(f"  {label}  p50 {statistics.median(timings) * 1e3:.3f} ms   "
              f"p99 {timings[int(runs * 0.99) - 1] * 1e3:.3f} ms   max {timings[-1] * 1e3:.3f} ms")


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    measure(1_000, runs)
    measure(10_000, runs)


if __name__ == "__main__":
    main()
