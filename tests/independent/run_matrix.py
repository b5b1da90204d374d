#!/usr/bin/env python3
"""Run cmconform against every dialect and fault of cm_server.py and print the matrix.

    python3 tests/independent/run_matrix.py [--bin target/release/cmconform] [--out DIR] [ROW ...]

A ROW is DIALECT or DIALECT:FAULT or DIALECT+gen (adds --generate 64 --seed 1).
Each run's console output and JSON report are kept in --out (default /tmp/indep-runs)."""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

DEFAULT_ROWS = (
    ["plain", "aspnet", "nocontent", "plain+gen", "aspnet+gen", "nocontent+gen"]
    + ["plain:" + f for f in ("refusal_deletes", "unknown_id_200", "far_future_completed",
                               "duplicate_members", "close_after_response", "chunked",
                               "race_no_lock", "put_ok_state_unchanged", "repeat_changes",
                               "open_input_different_effect", "stack_trace_html",
                               "correlation_is_request_id")]
    + ["aspnet:" + f for f in ("stack_trace_html", "correlation_is_request_id",
                                "open_input_different_effect", "repeat_changes",
                                "close_after_response", "chunked")]
)


def failing_cases(report):
    """Best effort over the JSON report: (case id, [failed checks])."""
    out = []
    cases = report.get("cases") if isinstance(report, dict) else None
    for c in cases or []:
        outcome = str(c.get("outcome") or c.get("status") or c.get("result") or "").lower()
        if outcome not in ("fail", "failed", "failure", "error"):
            continue
        checks = []
        for ch in c.get("checks") or []:
            o = str(ch.get("outcome") or ch.get("status") or ch.get("result") or "").lower()
            if o in ("fail", "failed", "failure", "error"):
                checks.append(ch.get("id") or ch.get("check") or ch.get("name"))
        out.append((c.get("id"), checks))
    return out


def run_row(row, binary, outdir):
    gen = row.endswith("+gen")
    row0 = row[:-4] if gen else row
    dialect, _, fault = row0.partition(":")
    cmd = [sys.executable, os.path.join(HERE, "cm_server.py"), "--dialect", dialect]
    if fault:
        cmd += ["--fault", fault]
    srv = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        port = int(srv.stdout.readline().split()[1])
        base = "http://127.0.0.1:%d" % port
        tag = row.replace(":", "-").replace("+", "-")
        jpath = os.path.join(outdir, tag + ".json")
        args = [binary, "run", "--base-url", base, "--state-url", base + "/_state",
                "-H", "Authorization: Negotiate x", "--report", "json=" + jpath]
        if gen:
            args += ["--generate", "64", "--seed", "1"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("CMCONFORM_")}
        env["NO_COLOR"] = "1"
        p = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        with open(os.path.join(outdir, tag + ".txt"), "w") as f:
            f.write(p.stdout + "\n--- stderr ---\n" + p.stderr)
        lines = [l for l in (p.stdout + p.stderr).splitlines() if l.strip()]
        summary = next((l for l in reversed(lines) if any(w in l.lower() for w in ("passed", "failed", "cases"))),
                       lines[-1] if lines else "")
        try:
            with open(jpath) as f:
                fails = failing_cases(json.load(f))
        except Exception as e:
            fails = [("(no json report: %s)" % e, [])]
        return p.returncode, summary.strip(), fails
    finally:
        srv.stdin.close()
        try:
            srv.wait(timeout=5)
        except subprocess.TimeoutExpired:
            srv.terminate()
            srv.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "cmconform"))
    ap.add_argument("--out", default="/tmp/indep-runs")
    ap.add_argument("rows", nargs="*")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for row in a.rows or DEFAULT_ROWS:
        rc, summary, fails = run_row(row, a.bin, a.out)
        print("| %s | %s | %s | %s |" % (row, rc, summary,
                                         "; ".join("%s [%s]" % (c, ", ".join(map(str, ch))) for c, ch in fails) or "-"),
              flush=True)


if __name__ == "__main__":
    main()
