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


def worker(args):
    station, index, count, start_at = args
    client = station.client()
    status, answer, _ = client.login("ann")
    if status != 200:
        return {"errors": [f"login {status} {answer}"], "latencies": [], "seqs": []}
    while time.time() < start_at:
        time.sleep(0.001)
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
    return {"errors": errors, "latencies": latencies, "seqs": seqs}


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


def run_load(alpha, clients, requests):
    per_client = requests // clients
    own_before = alpha.cli_json("status")["lines"][0]["own"]["seq"]
    start_at = time.time() + 1.0 + clients * 0.15  # after every client has logged in
    with multiprocessing.Pool(clients) as pool:
        began = time.time()
        address = harness.ApiAddress(alpha)
        results = pool.map(worker, [(address, i, per_client, start_at) for i in range(clients)])
        ended = time.time()
    seconds = ended - max(began, start_at)
    latencies = sorted(x for r in results for x in r["latencies"])
    errors = [e for r in results for e in r["errors"]]
    seqs = [s for r in results for s in r["seqs"]]
    own_after = alpha.cli_json("status")["lines"][0]["own"]["seq"]
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": len(errors),
        "first_errors": errors[:5],
        "writes": len(seqs),
        "writes_distinct": len(set(seqs)),
        "writes_queued": sum(1 for kind, _ in seqs if kind == "draft"),
        "record_grew_by": own_after - own_before,
        "seconds": round(seconds, 3),
        "requests_per_second": round(len(latencies) / seconds, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
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
