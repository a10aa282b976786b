"""Load benchmark: 16 concurrent clients, 10% bad requests, our endpoint against plain KServe, same run.

Both servers run in their own process on 127.0.0.1 (loopback only) and serve the
same sklearn Pipeline (see :mod:`bench_serving`). Each is loaded in turn, in
alternating rounds so that other load on the machine falls on both alike, by
``--clients`` threads with one keep-alive connection each, for ``--seconds``
in all per server. One request in ten is bad (malformed JSON, a missing column,
a non-numeric number, a wrong body shape, an unknown model), in turn.

Bounded: every request has a timeout, every client stops at its deadline, and
nothing but 127.0.0.1 is contacted.

Reported per server: throughput (all answers per second), p50/p99 of the good
requests' latency, the count of each status code (``conn`` for a dropped
connection), the largest ``/v2/health/live`` latency seen under load, and the
server's memory over time (PSS of the server and its worker process, so pages
they share count once; sampled every ``--sample`` seconds).

Run: ``python benchmarks/bench_load.py`` (6 s per server), ``--seconds 60`` for
the full run. Targets: no 5xx, flat memory, p99 better than plain KServe.
"""
from __future__ import annotations

import argparse
import http.client
import json
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_serving import NAME, OURS, PLAIN_KSERVE, ROW, build_model, start

GOOD = json.dumps({"instances": [ROW]}).encode()
BAD = [  # (path suffix, body)
    (f"/v1/models/{NAME}:predict", b"{not json"),
    (f"/v1/models/{NAME}:predict", json.dumps({"instances": [{k: v for k, v in ROW.items() if k != "sex"}]}).encode()),
    (f"/v1/models/{NAME}:predict", json.dumps({"instances": [{**ROW, "bill_length_mm": "abc"}]}).encode()),
    (f"/v1/models/{NAME}:predict", json.dumps({"instances": "not rows"}).encode()),
    ("/v1/models/no-such-model:predict", GOOD),
]
TIMEOUT = 10.0


def client(port: int, deadline: float, seed: int, statuses: Counter, latencies: list[float],
           lock: threading.Lock) -> None:
    """Sends requests until ``deadline``; one in ten is bad. Records status codes and good latencies."""
    rng = np.random.default_rng(seed)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    local_statuses: Counter = Counter()
    local_latencies: list[float] = []
    sent = 0
    while time.monotonic() < deadline:
        bad = rng.random() < 0.10
        path, body = BAD[sent % len(BAD)] if bad else (f"/v1/models/{NAME}:predict", GOOD)
        sent += 1
        started = time.perf_counter()
        try:
            connection.request("POST", path, body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            status = str(response.status)
        except (OSError, http.client.HTTPException):
            status = "conn"
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        local_statuses[status] += 1
        if not bad and status == "200":
            local_latencies.append(time.perf_counter() - started)
    connection.close()
    with lock:
        statuses.update(local_statuses)
        latencies.extend(local_latencies)


def _memory(process: object) -> int:
    """PSS where Linux gives it (pages shared with a forked worker counted once), else RSS."""
    info = process.memory_full_info()  # type: ignore[attr-defined]
    return getattr(info, "pss", info.rss)


def sample_rss(pid: int, stop: threading.Event, every: float, samples: list[tuple[float, float]]) -> None:
    """Samples the memory (MiB; PSS summed over ``pid`` and its children) until ``stop``."""
    import psutil

    process, started = psutil.Process(pid), time.monotonic()
    while not stop.is_set():
        try:
            rss = _memory(process) + sum(_memory(c) for c in process.children(recursive=True))
        except psutil.Error:
            break
        samples.append((time.monotonic() - started, rss / 2**20))
        stop.wait(every)


def probe_health(port: int, stop: threading.Event, worst: list[float]) -> None:
    """GETs ``/v2/health/live`` every 0.5 s; keeps the slowest answer (or TIMEOUT when none came)."""
    while not stop.is_set():
        started = time.perf_counter()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
            connection.request("GET", "/v2/health/live")
            connection.getresponse().read()
            connection.close()
            worst.append(time.perf_counter() - started)
        except (OSError, http.client.HTTPException):
            worst.append(TIMEOUT)
        stop.wait(0.5)


def load(port: int, clients: int, seconds: float, seed: int) -> tuple[Counter, list[float], list[float], float]:
    """One load phase: ``clients`` threads for ``seconds``. Returns statuses, good latencies, probes, wall time."""
    statuses: Counter = Counter()
    latencies: list[float] = []
    probes: list[float] = []
    lock, stop = threading.Lock(), threading.Event()
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=client, args=(port, deadline, seed + i, statuses, latencies, lock))
               for i in range(clients)]
    prober = threading.Thread(target=probe_health, args=(port, stop, probes))
    started = time.perf_counter()
    prober.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 2 * TIMEOUT)
    stop.set()
    prober.join(2 * TIMEOUT)
    return statuses, latencies, probes, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="load time per server, in all (default 6)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per server (default 2)")
    parser.add_argument("--sample", type=float, default=1.0, help="RSS sampling period in seconds")
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        model_dir = Path(folder) / NAME
        build_model(model_dir)
        servers = {"plain KServe": start(PLAIN_KSERVE, model_dir / "model.joblib"), "ours": start(OURS, model_dir)}
        stop = threading.Event()
        rss = {label: [] for label in servers}
        samplers = [threading.Thread(target=sample_rss, args=(process.pid, stop, args.sample, rss[label]))
                    for label, (process, _) in servers.items()]
        for sampler in samplers:
            sampler.start()
        try:
            totals = {label: (Counter(), [], [], 0.0) for label in servers}
            for round_index in range(args.rounds):
                for label, (_, port) in servers.items():
                    statuses, latencies, probes, wall = load(port, args.clients, args.seconds / args.rounds,
                                                             seed=1000 * round_index)
                    total = totals[label]
                    total[0].update(statuses)
                    total[1].extend(latencies)
                    total[2].extend(probes)
                    totals[label] = (total[0], total[1], total[2], total[3] + wall)
            results = totals
        finally:
            stop.set()
            for sampler in samplers:
                sampler.join(5)
            for process, _ in servers.values():
                process.terminate()
                process.wait(30)
    print(f"{args.clients} clients, {args.seconds:.0f} s per server in {args.rounds} alternating rounds, "
          f"10% bad requests, one-row V1 predicts on 127.0.0.1")
    print(f"{'server':<14}{'req/s':>8}{'good p50 ms':>13}{'good p99 ms':>13}{'health max ms':>15}  status codes")
    for label, (statuses, latencies, probes, wall) in results.items():
        p50, p99 = (1000 * float(np.percentile(latencies, q)) for q in (50, 99)) if latencies else (float("nan"),) * 2
        codes = " ".join(f"{code}:{count}" for code, count in sorted(statuses.items()))
        print(f"{label:<14}{sum(statuses.values()) / wall:>8.0f}{p50:>13.2f}{p99:>13.2f}"
              f"{1000 * max(probes, default=float('nan')):>15.1f}  {codes}")
    for label, samples in rss.items():
        values = [mib for _, mib in samples]
        if not values:
            continue
        step = max(1, len(samples) // 8)
        series = ", ".join(f"{t:.0f}s {mib:.0f}" for t, mib in samples[::step])
        print(f"memory (PSS) {label}: start {values[0]:.0f} MiB, max {max(values):.0f}, end {values[-1]:.0f} "
              f"(MiB over time: {series})")
    ours, plain = results["ours"], results["plain KServe"]
    five_xx = sum(n for code, n in ours[0].items() if code.startswith("5") or code == "conn")
    ours_p99, plain_p99 = (float(np.percentile(r[1], 99)) if r[1] else float("inf") for r in (ours, plain))
    ours_rss = [mib for _, mib in rss["ours"]]
    growth = (ours_rss[-1] - ours_rss[len(ours_rss) // 4]) if len(ours_rss) > 4 else float("nan")
    print(f"targets: no 5xx/dropped for ours: {'met' if five_xx == 0 else 'NOT met'} ({five_xx}); "
          f"p99 better than plain KServe: {'met' if ours_p99 < plain_p99 else 'NOT met'} "
          f"({1000 * ours_p99:.2f} vs {1000 * plain_p99:.2f} ms); memory growth after warm-up: {growth:+.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
