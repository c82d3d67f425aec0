"""A bounded concurrent load on the API (issue 6): CLIENTS browser-like clients, each logged in with
its own session over its own keep-alive TLS connection, make REQUESTS calls in all: one in five
sends a message (a durable write, answered once it is on disk), the others read the line's
requests or the session. Afterwards every write must be on alpha's record, exactly once.

Run by test_api_load.py (make test) and by `make bench`, which records the figures in
docs/benchmarks.md. Prints one JSON document: requests, errors, seconds, requests_per_second,
p50_ms, p99_ms, writes, machine.
"""

import argparse
import json
import multiprocessing
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402


_start_together = None


def _share_barrier(barrier):
    global _start_together
    _start_together = barrier


def worker(args):
    station, index, count = args
    client = station.client()
    status, answer, _ = client.login("ann")
    # Every client is logged in (one Argon2id check each, 0.1 s, one at a time at the station)
    # before any starts: the figures are of the calls alone.
    _start_together.wait(timeout=120)
    if status != 200:
        return {"errors": [f"login {status} {answer}"], "latencies": [], "seqs": [],
                "began": time.time(), "ended": time.time()}
    started = time.time()
    latencies, errors, seqs = [], [], []
    for i in range(count):
        began = time.perf_counter()
        if i % 5 == 0:
            status, answer, _ = client.call("POST", "/api/v1/lines/ab/messages",
                                            {"precedence": "ROUTINE",
                                             "text": f"load {index}.{i}"})
            ok = status == 201
            if ok:  # authored at once (its seq) or queued durably in the outbox (its draft)
                seqs.append(("seq", answer["seq"]) if "seq" in answer else ("draft", answer["draft"]))
        elif i % 5 in (1, 3):
            status, answer, _ = client.call("GET", "/api/v1/lines/ab/requests")
            ok = status == 200
        else:
            status, answer, _ = client.call("GET", "/api/v1/session")
            ok = status == 200
        latencies.append(time.perf_counter() - began)
        if not ok:
            errors.append(f"{status} {answer}")
    client.close()
    return {"errors": errors, "latencies": latencies, "seqs": seqs, "began": started,
            "ended": time.time()}


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "system": platform.platform()}


def cpu_seconds(pid):
    """CPU time (user + system) the process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_load(alpha, clients, requests):
    per_client = requests // clients
    own_before = alpha.cli_json("status")["lines"][0]["own"]["seq"]
    cpu_before = cpu_seconds(alpha.process.pid)
    barrier = multiprocessing.get_context("fork").Barrier(clients)
    with multiprocessing.get_context("fork").Pool(clients, initializer=_share_barrier,
                                                  initargs=(barrier,)) as pool:
        address = harness.ApiAddress(alpha)
        results = pool.map(worker, [(address, i, per_client) for i in range(clients)],
                           chunksize=1)
    seconds = max(r["ended"] for r in results) - min(r["began"] for r in results)
    # Logins included (50 Argon2id checks, about 5 s of one core): a bound, not the calls' cost.
    station_cpu = cpu_seconds(alpha.process.pid) - cpu_before
    latencies = sorted(x for r in results for x in r["latencies"])
    errors = [e for r in results for e in r["errors"]]
    seqs = [s for r in results for s in r["seqs"]]
    # A write answered with a draft id waits in the outbox for room in the in-flight window, and is
    # on the record once signed: a moment after the last answer, when many were queued. Polls the
    # station (bounded); a write that never leaves the outbox fails the count below.
    deadline = time.time() + 60
    while True:
        line = alpha.cli_json("status")["lines"][0]
        own_after = line["own"]["seq"]
        outbox_left = sum(line["outbox"].values())
        if (outbox_left == 0 and own_after - own_before >= len(seqs)) or time.time() > deadline:
            break
        time.sleep(0.05)
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": len(errors),
        "first_errors": errors[:5],
        "writes": len(seqs),
        "writes_distinct": len(set(seqs)),
        "writes_queued": sum(1 for kind, _ in seqs if kind == "draft"),
        "record_grew_by": own_after - own_before,
        "outbox_left": outbox_left,
        "seconds": round(seconds, 3),
        "requests_per_second": round(len(latencies) / seconds, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
        "station_cpu_seconds_with_logins": round(station_cpu, 2),
        "machine": machine(),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=10_000)
    options = parser.parse_args()
    case = harness.TwoStations
    case.setUpClass()
    try:
        figures = {"benchmark": "api_load", **run_load(case.alpha, options.clients,
                                                        options.requests)}
        print(json.dumps(figures, indent=2))
    finally:
        case.tearDownClass()


if __name__ == "__main__":
    main()
