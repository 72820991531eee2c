#!/usr/bin/env python3
"""Score pysocat (and optionally classic socat) with socat's own test.sh.

    conformance.py [--baseline] [--tests "1 2 NAME"] [-t 0.2] [--bound 3600]

Steps: find socat 1.7.4.4's source (reuse /tmp/socat-1.7.4.4, else
``apt-get source socat`` into conformance/work/src), map test numbers to names
and feature keywords (testmap.py), run test.sh against pysocat -- and with
--baseline against /usr/bin/socat too -- each in a network namespace of its own
(netns-run.sh), then write conformance/scorecard.json and scorecard.md.

Without --baseline the classic column is carried over from the committed
scorecard.  Exit status: 0, or 1 when a test that passes for pysocat in the
committed scorecard fails now (after one retry of just those tests, to tell a
regression from a timing flake), or 2 when the suite could not be run.
"""

from __future__ import annotations

import argparse
import glob
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

import scorecard as sc  # noqa: E402
from testmap import parse_testsh  # noqa: E402

REPO = HERE.parent
WORK = HERE / "work"
SUITE_VERSION = "1.7.4.4"
KNOWN_SUITE_DIRS = [f"/tmp/socat-{SUITE_VERSION}"]


def log(msg: str) -> None:
    print(f"conformance: {msg}", file=sys.stderr, flush=True)


def _run(cmd: list[str], timeout: float, **kw) -> subprocess.CompletedProcess:
    log("$ " + " ".join(cmd))
    return subprocess.run(cmd, timeout=timeout, **kw)


def _have_deb_src() -> bool:
    for f in glob.glob("/etc/apt/sources.list.d/*.sources"):
        try:
            if any(line.strip().startswith("Types:") and "deb-src" in line
                   for line in Path(f).read_text().splitlines()):
                return True
        except OSError:
            pass
    for f in ["/etc/apt/sources.list", *glob.glob("/etc/apt/sources.list.d/*.list")]:
        try:
            if any(line.strip().startswith("deb-src ") for line in Path(f).read_text().splitlines()):
                return True
        except OSError:
            pass
    return False


def fetch_suite() -> Path:
    """Return a socat source tree holding test.sh, fetching it if needed."""
    if os.environ.get("CONF_SUITE_DIR"):
        d = Path(os.environ["CONF_SUITE_DIR"])
        if (d / "test.sh").is_file():
            return d
        raise SystemExit(f"CONF_SUITE_DIR={d} has no test.sh")
    for d in KNOWN_SUITE_DIRS:
        if (Path(d) / "test.sh").is_file():
            return Path(d)
    src = WORK / "src"
    found = sorted(src.glob("socat-*/test.sh"))
    if found:
        return found[-1].parent
    if os.geteuid() != 0:
        raise SystemExit("conformance: fetching the suite needs root (apt-get source)")
    if not _have_deb_src():
        deb = Path("/etc/apt/sources.list.d/debian.sources")
        if not deb.is_file():
            raise SystemExit("conformance: no deb-src entry and no debian.sources to derive one from")
        text = "\n".join("Types: deb-src" if line.strip() == "Types: deb" else line
                         for line in deb.read_text().splitlines()) + "\n"
        Path("/etc/apt/sources.list.d/debian-src.sources").write_text(text)
        log("added /etc/apt/sources.list.d/debian-src.sources")
    _run(["apt-get", "update", "-qq"], 900, check=False)
    if not shutil.which("dpkg-source"):
        _run(["apt-get", "install", "-y", "-qq", "dpkg-dev"], 900, check=True,
             env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    src.mkdir(parents=True, exist_ok=True)
    _run(["apt-get", "source", "-qq", "socat/bookworm"], 900, check=True, cwd=src)
    found = sorted(src.glob("socat-*/test.sh"))
    if not found:
        raise SystemExit("conformance: apt-get source socat produced no test.sh")
    return found[-1].parent


def _version_line(binary: str) -> str:
    try:
        p = subprocess.run([binary, "-V"], capture_output=True, text=True, timeout=20)
        lines = p.stdout.splitlines()
        return lines[1].strip() if len(lines) > 1 else (p.stderr.strip().splitlines() or ["?"])[-1]
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"not runnable: {e}"


def run_suite(label: str, binary: str, suite: Path, t: str, bound: int,
              tests: list[str], out: Path | None = None, *, tmap: dict | None = None,
              chunk: int = 0, chunk_bound: int = 60) -> tuple[sc.RunResult, dict]:
    out = out or WORK / label
    if out.exists():
        shutil.rmtree(out)
    cmd = [str(HERE / "netns-run.sh"), str(suite), binary, str(out), str(bound), "-t", t, *tests]
    env = dict(os.environ)
    numeric = bool(tests) and all(x.isdigit() for x in tests)
    if chunk and (not tests or numeric):
        # Bounded chunks of test numbers (by default one test per test.sh run: a hang
        # costs that test and the chunk bound, not the rest of the run); a full run
        # starts with test.sh's own consistency checks.
        WORK.mkdir(parents=True, exist_ok=True)
        if numeric:
            numbers = [int(x) for x in tests]
            lines = []
        else:
            numbers = list(range(1, (max(tmap) if tmap else 470) + 1))
            lines = [f"-t {t} consistency"]
        for k in range(0, len(numbers), chunk):
            lines.append(f"-t {t} " + " ".join(str(n) for n in numbers[k:k + chunk]))
        chunks_file = WORK / f"{label}.chunks"
        chunks_file.write_text("\n".join(lines) + "\n")
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
        "version": _version_line(binary),
        "started": started,
        "finished": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seconds": secs,
        "rc": r.rc,
        "complete": r.complete,
        "selection": " ".join(tests) if tests else "all (Debian-patched NUMCOND)",
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
    log(f"{label}: {r.summary_line or 'no summary (cut short?)'} in {secs}s")
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


def default_pysocat() -> str:
    return str(REPO / ".venv" / "bin" / "pysocat")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run socat's test.sh against pysocat.")
    ap.add_argument("--pysocat", default=os.environ.get("PYSOCAT") or default_pysocat())
    ap.add_argument("--classic", default=os.environ.get("CLASSIC_SOCAT", "/usr/bin/socat"))
    ap.add_argument("--baseline", action="store_true", help="also run classic socat")
    ap.add_argument("--no-pysocat", action="store_true", help="run classic only")
    ap.add_argument("--tests", default="", help="test numbers/names/keywords for test.sh")
    ap.add_argument("-t", dest="t", default="0.2", help="test.sh -t value (default 0.2)")
    ap.add_argument("--bound", type=int, default=3600, help="wall-clock bound per run, s")
    ap.add_argument("--chunk", type=int, default=1,
                    help="test numbers per test.sh invocation for full runs (0: one invocation)")
    ap.add_argument("--chunk-bound", type=int, default=60, help="wall-clock bound per chunk, s")
    ap.add_argument("--scorecard", default=str(HERE / "scorecard.json"))
    ap.add_argument("--no-write", action="store_true", help="do not rewrite the scorecard")
    ap.add_argument("--no-retry", action="store_true")
    ap.add_argument("--note", action="append", default=[], metavar="LABEL=TEXT",
                    help="attach a note to a run (pysocat or classic) in the scorecard")
    ap.add_argument("--from-runs", action="store_true",
                    help="rebuild the scorecard from conformance/work/{pysocat,classic} without running")
    args = ap.parse_args(argv)

    if os.geteuid() != 0 and not args.from_runs:
        log("must run as root (network namespaces; test.sh's privileged tests)")
        return 2
    suite = fetch_suite()
    tmap = parse_testsh((suite / "test.sh").read_text(errors="replace"))
    tests = args.tests.split()
    card_path = Path(args.scorecard)
    old = json.loads(card_path.read_text()) if card_path.is_file() else {}

    runs: dict[str, dict] = {}
    if args.from_runs:
        for label in ("pysocat", "classic"):
            d = WORK / label
            if (d / "stdout").is_file():
                r = sc.load_run(d)
                env = r.env
                started = env.get("started")
                finished = (env.get("finished") or "").split(" ")[0] or None
                secs = None
                if started and finished:
                    fmt = "%Y-%m-%dT%H:%M:%SZ"
                    secs = round((datetime.strptime(finished, fmt)
                                  - datetime.strptime(started, fmt)).total_seconds())
                info = {"binary": env.get("socat"), "version": _version_line(env.get("socat") or ""),
                        "started": started, "finished": finished, "seconds": secs,
                        "consistency": r.extra, "hung": r.hung,
                        "rc": r.rc, "complete": r.complete,
                        "selection": env.get("args") or "", "summary_line": r.summary_line}
                runs[label] = _as_run(r, info)
    else:
        if not args.no_pysocat:
            if not os.access(args.pysocat, os.X_OK):
                log(f"{args.pysocat} is missing: run `make install` first")
                return 2
            r, info = run_suite("pysocat", args.pysocat, suite, args.t, args.bound, tests,
                                tmap=tmap, chunk=args.chunk, chunk_bound=args.chunk_bound)
            if not r.results:
                err = (WORK / "pysocat" / "stderr")
                tail = err.read_text(errors="replace").strip().splitlines()[-3:] if err.is_file() else []
                log("test.sh ran no test against pysocat; scorecard left unchanged. "
                    "test.sh said: " + " | ".join(tail))
                return 2
            runs["pysocat"] = _as_run(r, info)
        if args.baseline or args.no_pysocat:
            r, info = run_suite("classic", args.classic, suite, args.t, args.bound, tests,
                                tmap=tmap, chunk=args.chunk, chunk_bound=args.chunk_bound)
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
        log("nothing to score")
        return 2

    meta = {
        "suite": f"socat {SUITE_VERSION} test.sh ({suite})",
        "args": f"-t {args.t}",
        "host": f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs",
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    card = sc.build(tmap, runs, meta)

    regressed = sc.regressions(old, card) if "pysocat" in runs and not args.from_runs else []
    if regressed and not args.no_retry and not args.no_pysocat:
        log(f"retrying apparent regressions once: {regressed}")
        r, _ = run_suite("pysocat", args.pysocat, suite, args.t, min(args.bound, 900),
                         [str(n) for n in regressed], out=WORK / "pysocat-retry",
                         tmap=tmap, chunk=args.chunk, chunk_bound=args.chunk_bound)
        for n in regressed:
            if r.results.get(n) == sc.OK:
                runs["pysocat"]["results"][n] = sc.OK
                runs["pysocat"]["reasons"][n] = "passed on retry (flaky)"
        card = sc.build(tmap, runs, meta)
        regressed = sc.regressions(old, card)

    for label, run in card["runs"].items():
        s = run["summary"]
        src = " (from committed scorecard)" if run.get("carried_over") else ""
        print(f"{label:8s} ok {s['ok']:4d}  failed {s['failed']:4d}  cant {s['cant']:4d}  "
              f"not run {s['notrun']:4d}{src}")
    if "classic_passes_pysocat_not" in card:
        print(f"classic passes, pysocat does not: {card['classic_passes_pysocat_not']['count']}")
        print(f"pysocat passes, classic does not: {card['pysocat_passes_classic_not']}")
    if not args.no_write:
        sc.write_json(card, card_path)
        card_path.with_suffix(".md").write_text(sc.render_md(card))
        log(f"wrote {card_path} and {card_path.with_suffix('.md')}")
    if regressed:
        print(f"REGRESSION: pass in the committed scorecard, fail now: {regressed}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
