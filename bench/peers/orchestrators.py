"""Orchestrator peers of bench/peers/orchestrators.ts: the same no-op DAGs on Dagster
(execute_in_process) or Prefect 3 (a flow calling its tasks), in this process.

Usage: python orchestrators.py dagster|prefect REPS
Prints one JSON object: per shape (one, chain100, wide1000, diamond) the median wall seconds of
the run call, and for chain100 the dependent hops (a task's end -> its successor's start, seconds,
measured inside the task bodies), plus the first run's seconds (start-up included).
"""
import json
import os
import statistics
import sys
import time

T = {}


def mark(name):
    t = time.perf_counter()
    T[name] = (t, time.perf_counter())


SHAPES = {
    "one": [("t0", [])],
    "chain100": [(f"t{i}", [] if i == 0 else [f"t{i - 1}"]) for i in range(100)],
    "wide1000": [(f"w{i}", []) for i in range(1000)],
    "diamond": [("a", []), ("b", ["a"]), ("c", ["a"]), ("d", ["b", "c"])],
}


def dagster_runner():
    from dagster import DagsterInstance, DependencyDefinition, GraphDefinition, In, MultiDependencyDefinition, Nothing, op

    instance = DagsterInstance.ephemeral()

    def make(name, has_deps):
        if has_deps:
            @op(name=name, ins={"after": In(Nothing)})
            def _o():
                mark(name)
        else:
            @op(name=name)
            def _o():
                mark(name)
        return _o

    jobs = {}
    for shape, tasks in SHAPES.items():
        ops = [make(n, len(d) > 0) for n, d in tasks]
        deps = {n: {"after": MultiDependencyDefinition([DependencyDefinition(p) for p in d])} for n, d in tasks if d}
        jobs[shape] = GraphDefinition(name=f"bench_{shape}", node_defs=ops, dependencies=deps).to_job()

    # Console logging at ERROR: printing every step event is not what is compared.
    quiet = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}

    def run(shape):
        r = jobs[shape].execute_in_process(instance=instance, run_config=quiet)
        assert r.success
    return run


def prefect_runner():
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
    from prefect import flow, task

    @task
    def noop(name):
        mark(name)

    flows = {}
    for shape, tasks in SHAPES.items():
        order = [n for n, _ in tasks]
        if shape == "wide1000":
            @flow(name=f"bench-{shape}")
            def f(order=order):
                for fut in [noop.submit(n) for n in order]:
                    fut.result()
        else:
            @flow(name=f"bench-{shape}")
            def f(order=order):
                for n in order:  # topological order; each call returns when the task is done
                    noop(n)
        flows[shape] = f

    def run(shape):
        flows[shape]()
    return run


def main():
    system, reps = sys.argv[1], int(sys.argv[2])
    t0 = time.perf_counter()
    run = dagster_runner() if system == "dagster" else prefect_runner()
    run("one")
    out = {"system": system, "firstRunS": time.perf_counter() - t0, "shapes": {}, "hops": []}
    for shape in SHAPES:
        times = []
        for _ in range(reps):
            T.clear()
            s = time.perf_counter()
            run(shape)
            times.append(time.perf_counter() - s)
            if shape == "chain100":
                out["hops"] += [T[f"t{i}"][0] - T[f"t{i - 1}"][1] for i in range(1, 100)]
        out["shapes"][shape] = statistics.median(times)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
