"""Command-line credential scan of compiled specs (the CI compile step runs it).

Not imported by the package, so ``python -m`` runs it cleanly.
"""
from __future__ import annotations

from pathlib import Path

from kfp_mlops.pipelines.submission.credentials import scan_file


def main(argv: list[str] | None = None) -> int:
    """``python -m kfp_mlops.pipelines.submission.scan PATH...``: exit 1 if any compiled file carries a credential.

    A folder is scanned for ``*.yaml`` and ``*.json`` files.
    """
    import sys

    paths = argv if argv is not None else sys.argv[1:]
    files = [f for p in map(Path, paths)
             for f in (sorted([*p.glob("*.yaml"), *p.glob("*.json")]) if p.is_dir() else [p])]
    if not files:
        print("no compiled files to scan", file=sys.stderr)
        return 2
    bad = 0
    for file in files:
        for finding in scan_file(file):
            bad += 1
            print(f"{file}:{finding.line}: {finding.kind} ({finding.excerpt})", file=sys.stderr)
    print(f"scanned {len(files)} compiled file(s): {'no credentials' if not bad else f'{bad} finding(s)'}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
