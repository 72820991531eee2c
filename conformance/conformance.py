#!/usr/bin/env python3
"""Score pysocat (and optionally classic socat) with socat's own test.sh suites.

    conformance.py [--version 1.7.4.4|1.8.1.3|both] [--baseline] [--tests "1 2 NAME"]
                   [-t 0.2] [--bound 3600]

Per version: get socat's source tree of that version (tools/classic.sh --src),
map test numbers to names and feature keywords (testmap.py), run its test.sh
against pysocat under that version's profile (PYSOCAT_COMPAT) -- and with
--baseline against the classic binary of that version too -- each in a network
namespace of its own (netns-run.sh), then write conformance/scorecard-VERSION.json
and .md.  FILAN and PROCAN are the classic version's own for both binaries.

Without --baseline the classic column is carried over from the committed
scorecard.  Exit status: 0, or 1 when a test that passes for pysocat in the
committed scorecard fails now (after one retry of just those tests, to tell a
regression from a timing flake), or 2 when a suite could not be run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import features  # noqa: E402
import scorecard as sc  # noqa: E402
from testmap import parse_testsh  # noqa: E402

REPO = HERE.parent
WORK = HERE / "work"
VERSIONS = ("1.7.4.4", "1.8.1.3")
# Tests never run, whatever the selection, and why (test.sh -X; 1.7.4.4's has no -X
# and needs none).
EXCLUDE = {
    "1.7.4.4": {},
    "1.8.1.3": {410: "VSOCK_ECHO connects AF_VSOCK, which may leave this machine"},
}


def log(msg: str) -> None:
    print(f"conformance: {msg}", file=sys.stderr, flush=True)


def _run(cmd: list[str], timeout: float, **kw) -> subprocess.CompletedProcess:
    log("$ " + " ".join(cmd))
    return subprocess.run(cmd, timeout=timeout, **kw)


def _classic_sh(*args: str) -> Path:
    """tools/classic.sh: the classic binary (or with --src its source tree)."""
    p = _run([str(REPO / "tools" / "classic.sh"), *args], 1800, capture_output=True, text=True)
    sys.stderr.write(p.stderr)
    out = p.stdout.strip().splitlines()
    if p.returncode != 0 or not out:
        raise SystemExit(f"conformance: tools/classic.sh {' '.join(args)} failed")
    return Path(out[-1])


def fetch_suite(version: str) -> Path:
    """socat's source tree of ``version`` (test.sh and its helper scripts)."""
    d = _classic_sh("--src", version)
    if not (d / "test.sh").is_file():
        raise SystemExit(f"conformance: {d} has no test.sh")
    return d


def classic_tools(binary: str) -> dict[str, str]:
    """FILAN and PROCAN: the classic binary's own (they sit next to it)."""
    env = {}
    for tool in ("filan", "procan"):
        p = Path(binary).parent / tool
        env[tool.upper()] = str(p) if os.access(p, os.X_OK) else (shutil.which(tool) or "false")
    return env


def _version_line(binary: str, env: dict | None = None) -> str:
    try:
        p = subprocess.run([binary, "-V"], capture_output=True, text=True, timeout=20, env=env)
        lines = p.stdout.splitlines()
        return lines[1].strip() if len(lines) > 1 else (p.stderr.strip().splitlines() or ["?"])[-1]
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"not runnable: {e}"


def run_suite(label: str, binary: str, suite: Path, version: str, t: str, bound: int,
              tests: list[str], out: Path | None = None, *, tmap: dict | None = None,
              chunk: int = 0, chunk_bound: int = 60,
              extra_env: dict | None = None) -> tuple[sc.RunResult, dict]:
    if out is None:
        out = WORK / version / label
        shutil.rmtree(WORK / version / f"{label}-retry", ignore_errors=True)   # a stale retry
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    excl = sorted(EXCLUDE[version])
    xargs = " ".join(f"-X {n}" for n in excl)
    cmd = [str(HERE / "netns-run.sh"), str(suite), binary, str(out), str(bound), "-t", t,
           *xargs.split(), *tests]
    env = {k: v for k, v in os.environ.items() if k != "PYSOCAT_COMPAT"}
    env.update(extra_env or {})
    numeric = bool(tests) and all(x.isdigit() for x in tests)
    if chunk and (not tests or numeric):
        # Bounded chunks of test numbers (a hang costs its chunk and the chunk bound,
        # not the rest of the run); a full run starts with test.sh's own consistency
        # checks. 1.8.1.3's SOCKS5_OVERFL has the pattern *%%*, which every selection
        # matches: it is excluded (-X) from every chunk but its own.
        every = [n for n, info in (tmap or {}).items() if info.name == "SOCKS5_OVERFL"
                 and version != "1.7.4.4"]
        if numeric:
            numbers = [int(x) for x in tests]
            lines = []
        else:
            numbers = list(range(1, (max(tmap) if tmap else 470) + 1))
            lines = [" ".join(["-t", t, xargs, *(f"-X {n}" for n in every), "consistency"])]
        numbers = [n for n in numbers if n not in excl]
        for k in range(0, len(numbers), chunk):
            part = numbers[k:k + chunk]
            lines.append(" ".join(["-t", t, xargs, *(f"-X {n}" for n in every if n not in part),
                                   *map(str, part)]))
        chunks_file = WORK / version / f"{label}.chunks"
        chunks_file.write_text("\n".join(" ".join(x.split()) for x in lines) + "\n")
        env["CONF_CHUNKS"] = str(chunks_file)
        env["CONF_CHUNK_BOUND"] = str(chunk_bound)
    t0 = time.monotonic()
    started = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        _run(cmd, bound + 120, env=env)
    except subprocess.TimeoutExpired:
        log(f"{label}: netns-run.sh overran its bound")
    secs = round(time.monotonic() - t0)
    r = sc.load_run(out)
    info = {
        "binary": binary,
        "version": _version_line(binary, env),
        "started": started,
        "finished": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seconds": secs,
        "rc": r.rc,
        "complete": r.complete,
        "selection": " ".join(tests) if tests else "all",
        "excluded": {str(n): why for n, why in EXCLUDE[version].items()},
        "environment": " ".join(f"{k}={v}" for k, v in sorted((extra_env or {}).items())),
        "chunked": f"{chunk} test numbers per test.sh run, each bounded by {chunk_bound}s"
                   if chunk and (not tests or numeric) else "no",
        "summary_line": r.summary_line,
        "consistency": r.extra,
        "hung": r.hung,
    }
    if label.startswith("pysocat"):
        try:
            info["commit"] = subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%h %s"],
                                            capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            pass
    log(f"{version} {label}: {r.summary_line or 'no summary (cut short?)'} in {secs}s")
    return r, info


def _as_run(r: sc.RunResult, info: dict) -> dict:
    return {"results": r.results, "titles": r.titles, "reasons": r.reasons, "run": info}


def _from_card(card: dict, label: str) -> dict | None:
    if label not in card.get("runs", {}):
        return None
    results, titles, reasons = {}, {}, {}
    for n, e in card.get("tests", {}).items():
        if e.get(label) and e[label] != sc.NOTRUN:
            results[int(n)] = e[label]
        if e.get("title"):
            titles[int(n)] = e["title"]
        if e.get(f"{label}_note"):
            reasons[int(n)] = e[f"{label}_note"]
    info = {k: v for k, v in card["runs"][label].items() if k != "summary"}
    return {"results": results, "titles": titles, "reasons": reasons, "run": info}


def _from_run_dir(d: Path) -> dict:
    r = sc.load_run(d)
    env = r.env
    started = env.get("started")
    finished = (env.get("finished") or "").split(" ")[0] or None
    secs = None
    if started and finished:
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        secs = round((datetime.strptime(finished, fmt)
                      - datetime.strptime(started, fmt)).total_seconds())
    compat = env.get("PYSOCAT_COMPAT")
    info = {"binary": env.get("socat"),
            "version": _version_line(env.get("socat") or "",
                                     {**os.environ, "PYSOCAT_COMPAT": compat} if compat else None),
            "started": started, "finished": finished, "seconds": secs,
            "consistency": r.extra, "hung": r.hung,
            "rc": r.rc, "complete": r.complete,
            "environment": f"PYSOCAT_COMPAT={compat}" if compat else "",
            "selection": env.get("args") or "", "summary_line": r.summary_line}
    run = _as_run(r, info)
    retry = d.parent / f"{d.name}-retry"
    if (retry / "stdout").is_file():     # the run's failures, retried once on their own
        rr = sc.load_run(retry)
        again = sorted(n for n in rr.results if r.results.get(n) != sc.OK)
        run["run"]["retried"] = again
        run["run"]["passed_on_retry"] = [n for n in again if rr.results[n] == sc.OK]
        for n in run["run"]["passed_on_retry"]:
            run["results"][n] = sc.OK
            run["reasons"][n] = "passed on retry (flaky)"
    return run


def default_pysocat() -> str:
    return str(REPO / ".venv" / "bin" / "pysocat")


def score_version(version: str, args) -> int:
    """Run (or rebuild) one version's scorecard; 0, 1 (regression) or 2 (could not run)."""
    suite = fetch_suite(version)
    tmap = parse_testsh((suite / "test.sh").read_text(errors="replace"))
    tests = args.tests.split()
    card_path = Path(args.scorecard or HERE / f"scorecard-{version}.json")
    old = json.loads(card_path.read_text()) if card_path.is_file() else {}
    classic = args.classic or str(_classic_sh(version))
    # pysocat runs under the profile of the suite's version, through the environment
    # (test.sh and its helper scripts start it by name).
    penv = {"PYSOCAT_COMPAT": version, **classic_tools(classic)}
    cenv = classic_tools(classic)

    runs: dict[str, dict] = {}
    if args.from_runs:
        for label in ("pysocat", "classic"):
            d = WORK / version / label
            if (d / "stdout").is_file():
                runs[label] = _from_run_dir(d)
    else:
        if not args.no_pysocat:
            if not os.access(args.pysocat, os.X_OK):
                log(f"{args.pysocat} is missing: run `make install` first")
                return 2
            line = _version_line(args.pysocat, {**os.environ, **penv})
            if version not in line:
                log(f"pysocat -V under PYSOCAT_COMPAT={version} says {line!r}: not that version")
                return 2
            r, info = run_suite("pysocat", args.pysocat, suite, version, args.t, args.bound,
                                tests, tmap=tmap, chunk=args.chunk,
                                chunk_bound=args.chunk_bound, extra_env=penv)
            if not r.results:
                err = WORK / version / "pysocat" / "stderr"
                tail = err.read_text(errors="replace").strip().splitlines()[-3:] if err.is_file() else []
                log(f"{version}: test.sh ran no test against pysocat; scorecard left unchanged. "
                    "test.sh said: " + " | ".join(tail))
                return 2
            runs["pysocat"] = _as_run(r, info)
        if args.baseline or args.no_pysocat:
            r, info = run_suite("classic", classic, suite, version, args.t, args.bound, tests,
                                tmap=tmap, chunk=args.chunk, chunk_bound=args.chunk_bound,
                                extra_env=cenv)
            runs["classic"] = _as_run(r, info)
    for label in ("pysocat", "classic"):
        if label not in runs:
            carried = _from_card(old, label)
            if carried:
                carried["run"]["carried_over"] = True
                runs[label] = carried
    runs = {k: runs[k] for k in ("pysocat", "classic") if k in runs}
    for note in args.note:
        label, _, text = note.partition("=")
        if label in runs:
            runs[label]["run"]["note"] = text
    if not runs:
        log(f"{version}: nothing to score")
        return 2

    meta = {
        "suite": f"socat {version} test.sh ({suite})",
        "profile": f"pysocat runs with PYSOCAT_COMPAT={version}",
        "args": f"-t {args.t}" + "".join(f" -X {n}" for n in sorted(EXCLUDE[version])),
        "excluded": {str(n): why for n, why in EXCLUDE[version].items()},
        "host": f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs",
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    gaps = None
    if os.access(args.pysocat, os.X_OK) and os.access(classic, os.X_OK):
        gaps = features.missing(features.help_names([classic]),
                                features.help_names([args.pysocat], {**os.environ, **penv}))
    card = sc.build(tmap, runs, meta, gaps)

    # One retry, each binary on its own, of the tests that FAILED (or gave NO RESULT:
    # a server that did not come up in time) in this run and of
    # pysocat's apparent regressions (OK in the committed scorecard, not now): on a
    # busy machine -t 0.2 is tight, and a test that passes on retry was a timing flake.
    if not args.from_runs and not args.no_retry:
        regressed = sc.regressions(old, card) if "pysocat" in runs else []
        for label, binary, env in (("pysocat", args.pysocat, penv), ("classic", classic, cenv)):
            run = runs.get(label)
            if not run or run["run"].get("carried_over"):
                continue
            again = sorted({n for n, v in run["results"].items() if v == sc.FAILED
                            or (v == sc.CANT and run["reasons"].get(n, "").startswith("NO RESULT"))}
                           | (set(regressed) if label == "pysocat" else set()))
            if not again:
                continue
            log(f"{version} {label}: retrying once: {again}")
            r, _ = run_suite(label, binary, suite, version, args.t, min(args.bound, 1800),
                             [str(n) for n in again], out=WORK / version / f"{label}-retry",
                             tmap=tmap, chunk=args.chunk, chunk_bound=args.chunk_bound,
                             extra_env=env)
            for n in again:
                if r.results.get(n) == sc.OK:
                    run["results"][n] = sc.OK
                    run["reasons"][n] = "passed on retry (flaky)"
            run["run"]["retried"] = again
            run["run"]["passed_on_retry"] = [n for n in again if r.results.get(n) == sc.OK]
        card = sc.build(tmap, runs, meta, gaps)
    regressed = sc.regressions(old, card) if "pysocat" in runs and not args.from_runs else []

    print(f"socat {version} test.sh:")
    for label, run in card["runs"].items():
        s = run["summary"]
        src = " (from committed scorecard)" if run.get("carried_over") else ""
        print(f"  {label:8s} ok {s['ok']:4d}  failed {s['failed']:4d}  cant {s['cant']:4d}  "
              f"not run {s['notrun']:4d}{src}")
    if "classic_passes_pysocat_not" in card:
        print(f"  classic passes, pysocat does not: {card['classic_passes_pysocat_not']['count']}")
        print(f"  pysocat passes, classic does not: {card['pysocat_passes_classic_not']}")
    if not args.no_write:
        sc.write_json(card, card_path)
        card_path.with_suffix(".md").write_text(sc.render_md(card))
        log(f"wrote {card_path} and {card_path.with_suffix('.md')}")
    if regressed:
        print(f"REGRESSION ({version}): pass in the committed scorecard, fail now: {regressed}")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run socat's test.sh against pysocat.")
    ap.add_argument("--version", default="both", choices=[*VERSIONS, "both"],
                    help="which suite: socat 1.7.4.4's or 1.8.1.3's test.sh (default both)")
    ap.add_argument("--pysocat", default=os.environ.get("PYSOCAT") or default_pysocat())
    ap.add_argument("--classic", default=None,
                    help="classic binary (default: tools/classic.sh VERSION)")
    ap.add_argument("--baseline", action="store_true", help="also run classic socat")
    ap.add_argument("--no-pysocat", action="store_true", help="run classic only")
    ap.add_argument("--tests", default="", help="test numbers/names/keywords for test.sh")
    ap.add_argument("-t", dest="t", default="0.2", help="test.sh -t value (default 0.2)")
    ap.add_argument("--bound", type=int, default=3600, help="wall-clock bound per run, s")
    ap.add_argument("--chunk", type=int, default=5,
                    help="test numbers per test.sh invocation for full runs (0: one invocation)")
    ap.add_argument("--chunk-bound", type=int, default=240, help="wall-clock bound per chunk, s")
    ap.add_argument("--scorecard", default=None,
                    help="scorecard path (default conformance/scorecard-VERSION.json)")
    ap.add_argument("--no-write", action="store_true", help="do not rewrite the scorecard")
    ap.add_argument("--no-retry", action="store_true")
    ap.add_argument("--note", action="append", default=[], metavar="LABEL=TEXT",
                    help="attach a note to a run (pysocat or classic) in the scorecard")
    ap.add_argument("--from-runs", action="store_true",
                    help="rebuild the scorecard from conformance/work/VERSION/{pysocat,classic}")
    args = ap.parse_args(argv)

    if os.geteuid() != 0 and not args.from_runs:
        log("must run as root (network namespaces; test.sh's privileged tests)")
        return 2
    versions = VERSIONS if args.version == "both" else (args.version,)
    if len(versions) > 1 and (args.scorecard or args.classic):
        log("--scorecard and --classic need one --version")
        return 2
    rc = 0
    for v in versions:
        rc = max(rc, score_version(v, args))
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
