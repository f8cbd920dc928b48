"""Write the course models' sizes (``course/models/configs/sizes.json``) from their configs.

``course.models`` ships the parameter counts and KV-cache values of the course's models as data, because the
arithmetic that computes them from a config answers lesson 02's exercises and so lives with the grader
(``course.references.sizes``, hidden in the grading sandbox). Run this after changing a config in
``course/models/configs/``; a test fails while the file is stale.

    python -m tools.model_sizes            # rewrite the file
    python -m tools.model_sizes --check    # exit 1 if the file differs from what the configs give
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from course.references.sizes import all_model_sizes

PATH = Path(__file__).resolve().parents[1] / "course" / "models" / "configs" / "sizes.json"


def render() -> str:
    """The file's text: every course model's sizes, keys sorted, indented, with a final newline."""
    return json.dumps(all_model_sizes(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.model_sizes", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if the file is stale")
    args = parser.parse_args(argv)
    text = render()
    current = PATH.read_text(encoding="utf-8") if PATH.exists() else None
    if args.check:
        if current != text:
            print(f"{PATH} is stale: run `python -m tools.model_sizes`", file=sys.stderr)
            return 1
        print(f"{PATH} is up to date")
        return 0
    if current != text:
        PATH.write_text(text, encoding="utf-8")
        print(f"wrote {PATH}")
    else:
        print(f"{PATH} unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
