"""Scans compiled pipeline specs for credentials: nothing secret may ship in a template."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

# (name, pattern). Patterns match the secret itself, not the words around it.
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("private key block", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("service account key JSON", re.compile(r"\"?private_key(_id)?\"?\s*[:=]\s*\"?[A-Za-z0-9-]")),
    ("Google API key", re.compile(r"AIza[0-9A-Za-z_\-]{35}")),
    ("Google OAuth access token", re.compile(r"ya29\.[0-9A-Za-z_\-]{20,}")),
    ("AWS access key id", re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("GitHub token", re.compile(r"\b(ghp|gho|ghu|ghs|ghr|github_pat)_[0-9A-Za-z_]{20,}")),
    ("Slack token", re.compile(r"\bxox[abpr]-[0-9A-Za-z-]{10,}")),
    ("bearer token", re.compile(r"[Bb]earer\s+[0-9A-Za-z._\-]{20,}")),
    ("password or secret value", re.compile(
        r"(?i)\b(password|passwd|secret|api_key|apikey|access_token|auth_token)\b[\"']?\s*[:=]\s*[\"']?(?!\s*$)"
        r"(?![\"']?\s*(\{\{|\$\{|None\b|null\b|''|\"\"))[^\s\"',}]{4,}")),
    ("credentials in a URL", re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@\"']+:[^/\s@\"']+@")),
)


@dataclass(frozen=True)
class Finding:
    """One suspected credential.

    Attributes:
        kind: What it looks like (``private key block``, ...).
        line: 1-based line number.
        excerpt: The matching text, shortened and masked.
    """

    kind: str
    line: int
    excerpt: str


def scan_text(text: str) -> list[Finding]:
    """Returns every suspected credential in ``text``."""
    findings = []
    for number, line in enumerate(text.splitlines(), start=1):
        for kind, pattern in PATTERNS:
            match = pattern.search(line)
            if match:
                found = match.group(0)
                findings.append(Finding(kind, number, found[:6] + "…" if len(found) > 6 else found))
    return findings


def scan_file(path: str | os.PathLike) -> list[Finding]:
    """Returns every suspected credential in a compiled file."""
    return scan_text(Path(path).read_text(encoding="utf-8", errors="replace"))


def assert_no_credentials(path: str | os.PathLike) -> None:
    """Raises ValueError, naming the file, line and kind, if the file carries a credential."""
    findings = scan_file(path)
    if findings:
        where = "; ".join(f"line {f.line}: {f.kind} ({f.excerpt})" for f in findings[:5])
        raise ValueError(f"{path}: compiled spec carries credentials, refusing to use it: {where}")

