#!/usr/bin/env python3
"""Reduces the results.json of a study run by the code before the study runner (commit 53111e4) to
facts: {"id": identity fields, "values": numbers and statuses}. regression_test.cpp reduces the new
runner's results.json the same way and compares. Run once, by hand, on the old build's reports:

  make_golden.py REPORT_FOLDER OUT_FOLDER

REPORT_FOLDER holds one folder per experiment (iterop run --out REPORT_FOLDER, and iterop run
FILE.toml --out REPORT_FOLDER/NAME for the experiment files)."""
import json, math, os, sys

def hsum(history):
    total = 0.0  # left to right, as regression_test.cpp sums: the same doubles give the same bits
    for x in history:
        if x is not None:
            total += abs(x)
    return {"history_length": len(history), "history_sum": total}

def fixed_point_builtin(doc):
    facts = []
    for r in doc["results"]:
        facts.append({"id": {"c": r["c"], "solver": r["solver"], "method": r["method"], "memory": r["memory"],
                             "orth": r["orth"], "stopping_test": r["stopping_test"]},
                      "values": dict({k: r[k] for k in ("status", "iterations", "evaluations", "residual",
                                                       "reported_residual", "initial_residual", "tolerance",
                                                       "meets_tolerance")}, **hsum(r["residual_history"]))})
    return facts

def fixed_point_file(doc):
    facts = []
    for r in doc["cells"]:
        o = r["options"]
        facts.append({"id": {"c": r["parameters"].get("c"), "solver": r["solver"], "method": r["method"],
                             "memory": o.get("memory"), "orth": o.get("orth"),
                             "stopping_test": o.get("kinsol_test", "iterop") if r["solver"] == "kinsol" else "iterop"},
                      "values": dict({k: r[k] for k in ("status", "iterations", "evaluations", "residual",
                                                       "reported_residual", "initial_residual", "tolerance",
                                                       "meets_tolerance", "error")}, **hsum(r["residual_history"]))})
    return facts

RUN_FIELDS = ("status", "h", "max_error", "evaluations", "forcing_evaluations", "iterations", "nodes", "t_end",
              "y_end", "blow_up_time")

def run_fact(problem, T, method, grading, run):
    return {"id": {"problem": problem, "T": T, "method": method, "grading": grading, "steps": run["steps"]},
            "values": {k: run.get(k) for k in RUN_FIELDS}}

def order_fact(problem, T, method, grading, s):
    return {"id": {"problem": problem, "T": T, "method": method, "grading": grading, "order": True},
            "values": {"observed_order": s["observed_order"], "local_order_finest": s["local_order_finest"]}}

def volterra_builtin(doc):
    facts = []
    for s in doc["studies"]:
        for r in s["runs"]:
            facts.append(run_fact(s["problem"], s["T"], s["method"], s["grading"], r))
        facts.append(order_fact(s["problem"], s["T"], s["method"], s["grading"], s))
    methods = []
    for r in doc["n4_beyond_blow_up"]:
        facts.append(run_fact("N4", r["T"], r["method"], 1.0, r))
        if r["method"] not in methods:
            methods.append(r["method"])
    # Past the blow-up no run converges, so no order is fitted (the old report showed none).
    for m in methods:
        facts.append(order_fact("N4", doc["n4_beyond_blow_up"][0]["T"], m, 1.0,
                                {"observed_order": None, "local_order_finest": None}))
    return facts

def volterra_file(doc):
    facts = []
    for s in doc["cells"]:
        p = s["problem"]  # the label; reference problems are labelled by their id
        for r in s["runs"]:
            facts.append(run_fact(p, None, s["method"], s["grading"], r))
        facts.append(order_fact(p, None, s["method"], s["grading"], s))
    return facts

def main():
    src, out = sys.argv[1], sys.argv[2]
    jobs = {"fixed-point": fixed_point_builtin, "volterra": volterra_builtin,
            "heq-anderson-sweep": fixed_point_file, "volterra-orders": volterra_file}
    for name, reduce in jobs.items():
        path = os.path.join(src, name, "results.json")
        with open(path) as f:
            doc = json.load(f)
        facts = reduce(doc)
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump({"experiment": name, "source": "iterop before the study runner (commit 53111e4), "
                       "iterop run --seed 1", "facts": facts}, f, indent=1)
            f.write("\n")
        print(name, len(facts), "facts")

if __name__ == "__main__":
    main()
