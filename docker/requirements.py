"""Print the project's runtime requirements from pyproject.toml, one per line, minus torch.

The image installs torch in a layer of its own (``TORCH_SPEC``, optionally from
``TORCH_INDEX``) and everything else from this list, so that editing the source never
reinstalls anything, and editing the dependencies never re-downloads torch.

    python docker/requirements.py pyproject.toml [--extra postgres ...] > requirements.txt

Standard library only: it runs before any dependency is installed.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

EXCLUDED = {"torch"}


def requirement_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if match is None:
        raise ValueError(f"cannot read a package name from {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def requirements(pyproject: Path, extras: list[str]) -> list[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    lines = list(project.get("dependencies", []))
    optional = project.get("optional-dependencies", {})
    for extra in extras:
        if extra not in optional:
            raise SystemExit(f"error: no extra {extra!r} in {pyproject}")
        lines.extend(optional[extra])
    return [line for line in lines if requirement_name(line) not in EXCLUDED]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("pyproject", type=Path)
    parser.add_argument("--extra", action="append", default=[], help="an optional extra to add")
    args = parser.parse_args(argv)
    for line in requirements(args.pyproject, args.extra):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
