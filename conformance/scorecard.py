"""Parse test.sh output and build, write and compare scorecards.

A run directory (made by netns-run.sh) holds ``stdout``, ``stderr``, ``rc`` and
``env.txt``.  test.sh prints one line per selected test on stdout::

    test   1 UNISTDIO: unidirectional throughput from stdin to stdout... OK
    test 102 READLINE: readline with password and sigint... READLINE not available

and ends with ``Summary: ...``, ``CANT: <numbers>`` and ``FAILED: <numbers>``.
The final lists are authoritative; when the run was cut short (wall-clock
bound) there are none and each line's own verdict is used instead.

Verdicts: OK, FAILED, CANT (test.sh's "could not be performed", including its
"NO RESULT" cases), and NOTRUN for tests of the selection that never printed
(run cut short, or not selected this time).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import features
from testmap import GENERIC_KEYWORDS, TestInfo

OK, FAILED, CANT, NOTRUN = "OK", "FAILED", "CANT", "NOTRUN"
VERDICTS = (OK, FAILED, CANT)

_ANSI = re.compile(r"\x1b\[[0-9;]*m|\\0*33\[[0-9;]*m")
_TESTLINE = re.compile(r"^test\s+(\d+)\s+(.*?)\.\.\.\s?(.*)$")
_SUMMARY = re.compile(r"^Summary: (\d+) tests, (\d+) selected; (\d+) ok, (\d+) failed, (\d+) could not")


@dataclass
class RunResult:
    results: dict[int, str] = field(default_factory=dict)
    titles: dict[int, str] = field(default_factory=dict)
    reasons: dict[int, str] = field(default_factory=dict)   # CANT / FAILED text
    summary_line: str | None = None
    total_tests: int | None = None
    complete: bool = False
    rc: int | None = None
    env: dict[str, str] = field(default_factory=dict)
    extra: list[str] = field(default_factory=list)     # e.g. test.sh's consistency checks
    hung: list[int] = field(default_factory=list)   # ended by the chunk bound

    def counts(self) -> dict[str, int]:
        c = {"ok": 0, "failed": 0, "cant": 0}
        for v in self.results.values():
            if v == OK:
                c["ok"] += 1
            elif v == FAILED:
                c["failed"] += 1
            elif v == CANT:
                c["cant"] += 1
        c["selected"] = c["ok"] + c["failed"] + c["cant"]
        return c


def _line_verdict(rest: str) -> str:
    rest = rest.strip()
    if rest.startswith("OK"):
        return OK
    if rest.startswith("FAILED"):
        return FAILED
    if rest.startswith("NO RESULT"):
        return CANT
    if rest:
        return CANT     # "... not available", "only on Linux", etc.
    return FAILED       # the test printed its header and never its verdict


def parse_output(stdout: str) -> RunResult:
    """Parse test.sh's stdout (stderr carries only details)."""
    r = RunResult()
    failed_list: set[int] | None = None
    cant_list: set[int] | None = None
    for raw in stdout.splitlines():
        line = _ANSI.sub("", raw).rstrip()
        m = _TESTLINE.match(line)
        if m:
            n = int(m.group(1))
            r.titles.setdefault(n, m.group(2))
            v = _line_verdict(m.group(3))
            # a test printing twice (rare) keeps its worst verdict
            if r.results.get(n) in (None, OK) or v == FAILED:
                r.results[n] = v
            if v != OK and m.group(3).strip():
                r.reasons.setdefault(n, m.group(3).strip()[:200])
            continue
        m = _SUMMARY.match(line)
        if m:
            r.summary_line = line
            r.total_tests = int(m.group(1))
            continue
        if line.startswith("FAILED: "):
            failed_list = {int(x) for x in line[8:].split() if x.isdigit()}
        elif line.startswith("CANT: "):
            cant_list = {int(x) for x in line[6:].split() if x.isdigit()}
    if r.summary_line is not None:
        r.complete = True
        failed_list = failed_list or set()
        cant_list = cant_list or set()
        # test.sh's accounting wins: FAILED and CANT as listed; a test in neither list
        # was counted OK (OPENSSL_ANULL prints a yellow "FAILED" and counts it OK) --
        # except lines that say why they could not run without being counted
        # ("SCTP4 not available" in SCTP4LISTENENV): those stay CANT.
        for n in r.results:
            if n in failed_list:
                r.results[n] = FAILED
            elif n in cant_list:
                r.results[n] = CANT
            elif r.results[n] != CANT:
                r.results[n] = OK
        for n in failed_list | cant_list:
            if n not in r.results:
                r.results[n] = FAILED if n in failed_list else CANT
    return r


def _merge(parts: list[RunResult]) -> RunResult:
    # A chunk cut short by its own bound still counts as run (its test is FAILED);
    # load_run decides completeness from the chunk count and the run's bound.
    r = RunResult(complete=bool(parts))
    for p in parts:
        for n, v in p.results.items():
            if r.results.get(n) in (None, OK) or v == FAILED:
                r.results[n] = v
        r.titles.update(p.titles)
        r.reasons.update(p.reasons)
        r.total_tests = p.total_tests or r.total_tests
    c = r.counts()
    r.summary_line = (f"{len(parts)} chunks: {c['selected']} selected; {c['ok']} ok, "
                      f"{c['failed']} failed, {c['cant']} could not be performed")
    return r


def _chunk_tests(words: list[str]) -> list[int]:
    """The test numbers of a chunk's test.sh arguments (not the values of -t, -X ...)."""
    nums, skip = [], False
    for w in words:
        if skip:
            skip = False
        elif w in ("-t", "-X", "-N", "-Z", "-n", "--expect-fail"):
            skip = True
        elif w.isdigit() and int(w):
            nums.append(int(w))
    return nums


def load_run(run_dir: Path) -> RunResult:
    """Parse a run directory; a chunked run (stdout.1, stdout.2, ...) is merged."""
    run_dir = Path(run_dir)
    chunks = sorted(run_dir.glob("stdout.*"), key=lambda p: int(p.suffix[1:]) if p.suffix[1:].isdigit() else 0)
    if chunks:
        parts = [parse_output(p.read_text(errors="replace")) for p in chunks]
        # chunks that selected no numbered test (the "consistency" checks) do not count
        r = _merge([p for p in parts if p.results] or parts)
        r.extra = [line for p in chunks for line in p.read_text(errors="replace").splitlines()
                   if line.startswith("testing if ")]
    else:
        r = parse_output((run_dir / "stdout").read_text(errors="replace"))
    try:
        r.rc = int((run_dir / "rc").read_text().strip())
    except (OSError, ValueError):
        r.rc = None
    try:
        for line in (run_dir / "env.txt").read_text().splitlines():
            k, _, v = line.partition("=")
            r.env[k] = v
    except OSError:
        pass
    expected = r.env.get("chunks")
    if chunks and expected and expected.isdigit() and len(chunks) < int(expected):
        r.complete = False
    if "bound_reached" in r.env or (r.rc == 124 and not chunks):
        r.complete = False      # the run's wall-clock bound cut it short
    if chunks and (run_dir / "env.txt").is_file():
        # tests whose test.sh call was ended by the per-chunk bound (they hung)
        for line in (run_dir / "env.txt").read_text().splitlines():
            if line.startswith("chunk ") and " rc=124 " in line:
                nums = _chunk_tests(line.partition(" args=")[2].split())
                r.hung.extend(nums)
                for n in nums:
                    if n in r.results:
                        r.reasons[n] = "hung: its test.sh call was ended by the chunk bound"
    return r


def _feature_groups(numbers: list[int], tmap: dict[int, TestInfo]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for n in numbers:
        info = tmap.get(n)
        feats = [f for f in (info.features if info else []) if f not in GENERIC_KEYWORDS]
        for f in feats or ["(none)"]:
            groups.setdefault(f, []).append(n)
    return dict(sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])))


def build(tmap: dict[int, TestInfo], runs: dict[str, dict], meta: dict,
          gaps: dict | None = None) -> dict:
    """runs: label -> {"results": {n: verdict}, "titles": {...}, "reasons": {...}, "run": {...}}

    gaps: what classic's -hhh lists and pysocat's does not (features.missing); the
    tests classic passes and pysocat does not are then split by the missing feature
    they name."""
    numbers: set[int] = set()
    for run in runs.values():
        numbers |= {int(n) for n in run["results"]}
    tests = {}
    name_mismatch = []
    for n in sorted(numbers):
        info = tmap.get(n)
        title = None
        for run in runs.values():
            title = title or run["titles"].get(n) or run["titles"].get(str(n))
        name = info.name if info else None
        if title and name and not title.startswith(name + ":") and title.split(":")[0] != name:
            name_mismatch.append(n)
        entry = {
            "name": (title.split(":")[0] if title else name),
            "title": title,
            "features": [f for f in (info.features if info else []) if f not in GENERIC_KEYWORDS],
        }
        for label, run in runs.items():
            res = run["results"]
            entry[label] = res.get(n) or res.get(str(n)) or NOTRUN
            why = run.get("reasons", {}).get(n) or run.get("reasons", {}).get(str(n))
            binary = run.get("run", {}).get("binary")
            if why and binary:
                why = why.replace(binary, "$SOCAT")
            if why:
                why = " ".join(why.split()).rstrip(":").strip()
            if why and entry[label] != OK:
                entry[f"{label}_note"] = why
        tests[str(n)] = entry

    card: dict = {"meta": meta, "runs": {}, "tests": tests}
    for label, run in runs.items():
        counts = {"ok": 0, "failed": 0, "cant": 0, "notrun": 0}
        for e in tests.values():
            counts[e[label].lower()] += 1
        card["runs"][label] = {**run.get("run", {}), "summary": counts}
    if "pysocat" in runs and "classic" in runs:
        classic_only = [int(n) for n, e in tests.items()
                        if e["classic"] == OK and e["pysocat"] != OK]
        pysocat_only = [int(n) for n, e in tests.items()
                        if e["pysocat"] == OK and e["classic"] != OK]
        card["classic_passes_pysocat_not"] = {
            "count": len(classic_only),
            "by_feature": _feature_groups(classic_only, tmap),
        }
        if gaps is not None:
            by, clean = features.group(sorted(classic_only),
                                       {n: i.body for n, i in tmap.items()}, gaps)
            card["classic_passes_pysocat_not"]["by_missing_feature"] = by
            card["classic_passes_pysocat_not"]["no_missing_feature"] = clean
            card["pysocat_lacks"] = {k: sorted(gaps[k]) for k in features.KINDS}
        card["pysocat_passes_classic_not"] = pysocat_only
    if name_mismatch:
        card["meta"]["numbering_mismatch"] = name_mismatch
    return card


def regressions(old: dict, new: dict, label: str = "pysocat") -> list[int]:
    """Tests OK in the committed card that ran again and are not OK now."""
    out = []
    for n, e in old.get("tests", {}).items():
        if e.get(label) != OK:
            continue
        now = new.get("tests", {}).get(n, {}).get(label, NOTRUN)
        if now in (FAILED, CANT):
            out.append(int(n))
    return sorted(out)


def write_json(card: dict, path: Path) -> None:
    Path(path).write_text(json.dumps(card, indent=1, sort_keys=False) + "\n")


def _nums(ns: list[int]) -> str:
    return " ".join(str(n) for n in ns) if ns else "-"


def _note(e: dict) -> str:
    note = e.get("pysocat_note") or ""
    return e["pysocat"] + (f": {note}" if note else "")


def _render_gaps(card: dict, cp: dict) -> list[str]:
    out = ["### By the feature pysocat lacks", "",
           "The address type, option, flag or `-V` feature the test names (its text and "
           "test.sh's own checks) "
           "that classic lists (`-hhh`, `-V`) and pysocat does not. Derived from text: a test "
           "appears under each feature it names.", "",
           "| missing in pysocat | tests | numbers |", "|---|---:|---|"]
    for feat, ns in cp["by_missing_feature"].items():
        out.append(f"| {feat} | {len(ns)} | {_nums(ns)} |")
    clean = cp["no_missing_feature"]
    out += ["", f"### Using only features pysocat has ({len(clean)}): defects", ""]
    if clean:
        out += ["| # | name | pysocat |", "|---:|---|---|"]
        for n in clean:
            e = card["tests"][str(n)]
            out.append(f"| {n} | {e['name'] or '?'} | {_note(e).replace('|', '/')} |")
    else:
        out.append("none")
    out += ["", "### By test.sh keyword", ""]
    return out


def render_md(card: dict) -> str:
    meta = card["meta"]
    out = ["# pysocat conformance scorecard", ""]
    out.append("Generated by `make conformance` (see conformance/README.md); do not edit by hand.")
    out.append("")
    for k in ("suite", "args", "host", "note"):
        if meta.get(k):
            out.append(f"- {k}: {meta[k]}")
    out.append("")
    out.append("| binary | ok | failed | cant | not run | run finished | complete | wall time |")
    out.append("|---|---:|---:|---:|---:|---|---|---|")
    for label, run in card["runs"].items():
        s = run["summary"]
        out.append(f"| {label} | {s['ok']} | {s['failed']} | {s['cant']} | {s['notrun']} | "
                   f"{run.get('finished', '?')} | {run.get('complete', '?')} | "
                   f"{run.get('seconds', '?')} s |")
    out.append("")
    for label, run in card["runs"].items():
        bits = []
        if run.get("version"):
            bits.append(f"`{run['version']}`")
        if run.get("commit"):
            bits.append(f"at commit `{run['commit']}`")
        if run.get("hung"):
            bits.append("hung (ended by the chunk bound): " + _nums(run["hung"]))
        if run.get("retried"):
            bits.append("failures retried once on their own: " + _nums(run["retried"])
                        + "; passed on retry (timing flakes): " + _nums(run.get("passed_on_retry", [])))
        if run.get("environment"):
            bits.append(f"environment `{run['environment']}`")
        if run.get("selection"):
            bits.append(f"selection `{run['selection']}`")
        if run.get("chunked") and run["chunked"] != "no":
            bits.append(f"chunked: {run['chunked']}")
        if run.get("consistency"):
            bits.append("test.sh consistency checks: " + "; ".join(run["consistency"]))
        if run.get("carried_over"):
            bits.append("carried over from the previous scorecard")
        if run.get("note"):
            bits.append(f"note: {run['note']}")
        out.append(f"- **{label}**: " + ", ".join(bits))
    out.append("")
    if "classic_passes_pysocat_not" in card:
        cp = card["classic_passes_pysocat_not"]
        out.append(f"## Classic passes, pysocat does not ({cp['count']})")
        out.append("")
        if "by_missing_feature" in cp:
            out.extend(_render_gaps(card, cp))
        out.append("Grouped by test.sh feature keyword (a test appears under each of its keywords).")
        out.append("")
        out.append("| feature | tests | numbers |")
        out.append("|---|---:|---|")
        for feat, ns in cp["by_feature"].items():
            out.append(f"| {feat} | {len(ns)} | {_nums(ns)} |")
        out.append("")
        out.append("Why, in test.sh's words (its CANT lines; FAILED tests ran and failed):")
        out.append("")
        why: dict[str, list[int]] = {}
        for n, e in card["tests"].items():
            if e.get("classic") == OK and e.get("pysocat") != OK:
                if e["pysocat"] == CANT:
                    key = "CANT: " + (e.get("pysocat_note") or "?")
                elif "hung" in (e.get("pysocat_note") or ""):
                    key = "FAILED: hung, ended by the chunk bound"
                else:
                    key = e["pysocat"]
                why.setdefault(key, []).append(int(n))
        out.append("| verdict | tests | numbers |")
        out.append("|---|---:|---|")
        for key, ns in sorted(why.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            out.append(f"| {key} | {len(ns)} | {_nums(ns)} |")
        out.append("")
        out.append(f"## pysocat passes, classic does not")
        out.append("")
        out.append(_nums(card["pysocat_passes_classic_not"]))
        out.append("")
    out.append("## All tests")
    out.append("")
    labels = list(card["runs"])
    out.append("| # | name | " + " | ".join(labels) + " | features |")
    out.append("|---:|---|" + "---|" * len(labels) + "---|")
    for n, e in card["tests"].items():
        out.append(f"| {n} | {e['name'] or '?'} | " + " | ".join(e[l] for l in labels)
                   + f" | {' '.join(e['features'])} |")
    out.append("")
    return "\n".join(out)
