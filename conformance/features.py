"""Which features of classic socat a test uses that pysocat lacks.

Both programs list what they know in ``-hhh``: the command line flags, every
address type (name and alias) and every address option (name and alias).
Whatever classic lists and pysocat does not is a missing feature.  A test needs
a missing feature when its lines (test.sh text, loop variables substituted)
name it: an address type as ``NAME:`` / ``NAME,`` (or alone on a line that runs
socat), an option as ``,name`` followed by ``=``, ``,`` or the end of the word,
a flag as a word after ``$SOCAT``, or any of them in test.sh's own
``testaddrs`` / ``testoptions`` / ``testfeats`` / ``checkconds`` checks (features
are the ``-V`` list's ``WITH_*``).  This is derived from text, not from
running anything, so it can both miss and over-report; the scorecard says so.
"""

from __future__ import annotations

import re
import subprocess


def help_names(cmd: list[str], env: dict | None = None) -> dict[str, set[str]]:
    """flags, addresses (upper case) and options (lower case) that ``cmd -hhh`` lists,
    and the features (WITH_* without the prefix) that ``cmd -V`` lists."""
    try:
        out = subprocess.run([*cmd, "-hhh"], capture_output=True, text=True,
                             env=env, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    names: dict[str, set[str]] = {"flag": set(), "address": set(), "option": set()}
    canon: dict[str, str] = {}     # alias -> the name it stands for
    section = None
    for line in out.splitlines():
        if not line.startswith("      "):
            s = line.strip()
            section = ("flag" if s.startswith("options") else
                       "address" if s.startswith("address-head:") else
                       "option" if s.startswith("opt:") else None)
            continue
        tok = line.split()[0] if line.split() else ""
        if section == "flag":
            base = None
            for part in tok.split("|"):     # -h|-?   -d0|1|2|3|4
                part = re.split(r"[<\[]", part)[0]
                if part.startswith("-"):
                    base = re.sub(r"\d$", "", part)
                    names["flag"].add(part)
                elif base and part:
                    names["flag"].add(base + part)
        elif section == "address":
            name = re.split(r"[:\[]", tok)[0].upper()
            names["address"].add(name)
            m = re.search(r"is an alias (?:name )?for (\S+)", line)
            if m:
                canon[f"address {name}"] = f"address {m.group(1).upper()}"
        elif section == "option":
            names["option"].add(tok.lower())
            m = re.search(r"is an alias (?:name )?for (\S+)", line)
            if m:
                canon[f"option {tok.lower()}"] = f"option {m.group(1).lower()}"
    try:
        out = subprocess.run([*cmd, "-V"], capture_output=True, text=True,
                             env=env, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    names["feature"] = set(re.findall(r"#define WITH_(\w+) 1", out))
    names["canon"] = canon      # type: ignore[assignment]
    return names


def missing(classic: dict[str, set[str]], pysocat: dict[str, set[str]]) -> dict[str, set[str]]:
    gaps = {k: classic[k] - pysocat.get(k, set()) for k in KINDS}
    gaps["canon"] = classic.get("canon", {})
    return gaps


KINDS = ("flag", "address", "option", "feature")
_END = r"(?=[=,\s\"'\\)}|]|$)"


def needs(body: str, gaps: dict[str, set[str]]) -> list[str]:
    """The missing features ``body`` (a test's text) names, as "address X" etc."""
    found: list[str] = []
    checks = {kind: " ".join(m.group(1) for m in re.finditer(
        r"\btest" + kind + r"\s+([^;|&)\n]*)", body)) for kind in ("feats", "addrs", "options")}
    # 1.8's checkconds UNAMES ROOT PROGS FEATS ADDRS OPTS RUNS [INET], one "…" per line
    for m in re.finditer(r"checkconds((?:\s*\\?\s*\"[^\"]*\")+)", body):
        args = re.findall(r'"([^"]*)"', m.group(1))
        for kind, k in (("feats", 3), ("addrs", 4), ("options", 5)):
            if len(args) > k:
                checks[kind] += " " + args[k].replace(",", " ")
    socat_lines = [ln for ln in body.splitlines() if "SOCAT" in ln]
    for name in sorted(gaps.get("address", ())):
        if name == "-":
            continue
        q = re.escape(name)
        if (re.search(r"(?<![\w$%.-])" + q + r"(?=[:,])", body, re.I)
                or re.search(r"(?<![\w$%.-])" + q + r"(?![\w.-])", checks["addrs"], re.I)
                or any(re.search(r"(?<![\w$%.-])" + q + r"(?=[\s\"']|$)", ln) for ln in socat_lines)):
            found.append(f"address {name}")
    for name in sorted(gaps.get("option", ())):
        q = re.escape(name)
        if (re.search(r",(?:" + q + r")" + _END, body, re.I)
                or re.search(r"(?<![\w.-])" + q + r"(?![\w.-])", checks["options"], re.I)):
            found.append(f"option {name}")
    for name in sorted(gaps.get("feature", ())):
        if re.search(r"(?<![\w.-])" + re.escape(name) + r"(?![\w.-])", checks["feats"], re.I):
            found.append(f"feature WITH_{name}")
    for name in sorted(gaps.get("flag", ()), key=len, reverse=True):
        q = re.escape(name)
        if any(re.search(r"\$SOCAT\b.*?\s" + q + r"(?=[\s\"'0-9x]|$)", ln) for ln in socat_lines):
            if not any(f.startswith(f"flag {name}") for f in found):
                found.append(f"flag {name}")
    canon = gaps.get("canon", {})
    out: list[str] = []
    for f in found:        # aliases count as the name they stand for
        f = canon.get(f, f)
        if f not in out:
            out.append(f)
    # WITH_SHELL next to address SHELL (WITH_UDPLITE next to UDPLITE4-LISTEN) says
    # nothing more: the feature counts only when no address or option of it is named.
    named = [f.split(" ", 1)[1].lower() for f in out if not f.startswith("feature ")]
    return [f for f in out if not f.startswith("feature WITH_")
            or not any(n.startswith(f[len("feature WITH_"):].lower()) for n in named)]


def group(numbers: list[int], bodies: dict[int, str], gaps: dict[str, set[str]]
          ) -> tuple[dict[str, list[int]], list[int]]:
    """(missing feature -> tests, tests that name no missing feature)."""
    by: dict[str, list[int]] = {}
    clean: list[int] = []
    for n in numbers:
        feats = needs(bodies.get(n, ""), gaps)
        if not feats:
            clean.append(n)
        for f in feats:
            by.setdefault(f, []).append(n)
    return dict(sorted(by.items(), key=lambda kv: (-len(kv[1]), kv[0]))), clean
