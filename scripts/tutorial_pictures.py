"""Regenerate the tutorial pictures: docs/img/tutorial-NAME.svg and the Mermaid blocks of docs/tutorial.md.

Both come from `rabbitadmin graph` run on each preset; tests/routing/test_pictures.py fails when the committed
pictures differ from what `graph` draws today. Run: .venv/bin/python scripts/tutorial_pictures.py
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRESETS = ROOT / "src" / "rabbitadmin" / "tutorials" / "presets"
DOC = ROOT / "docs" / "tutorial.md"
SCENARIOS = ("hello-world", "work-queues", "publish-subscribe", "routing", "topics", "rpc")


def graph(name: str, fmt: str) -> str:
    """`rabbitadmin graph PRESET --format FMT`, as a user would run it."""
    done = subprocess.run(
        [sys.executable, "-m", "rabbitadmin", "graph", str(PRESETS / f"{name}.yaml"), "--format", fmt],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return done.stdout


def block(name: str, mermaid: str) -> str:
    """The Markdown for one picture: Mermaid (GitHub renders it) and a link to the SVG."""
    return (
        f"<!-- graph: {name} (scripts/tutorial_pictures.py) -->\n```mermaid\n{mermaid}```\n"
        f"[SVG](img/tutorial-{name}.svg)\n<!-- end graph: {name} -->"
    )


def block_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"<!-- graph: {re.escape(name)} .*?<!-- end graph: {re.escape(name)} -->", re.DOTALL)


def main() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name in SCENARIOS:
        (ROOT / "docs" / "img" / f"tutorial-{name}.svg").write_text(graph(name, "svg"), encoding="utf-8")
        new = block(name, graph(name, "mermaid"))
        text, count = block_pattern(name).subn(lambda _m, new=new: new, text)
        if count != 1:
            raise SystemExit(f"docs/tutorial.md: expected one picture block for {name}, found {count}")
    DOC.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
