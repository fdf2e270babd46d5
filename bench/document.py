"""BENCHMARKS.md sections that separate benchmarks write on their own and ``make bench`` keeps."""

from __future__ import annotations

import re
from pathlib import Path


def write_section(path: Path, heading: str, text: str) -> None:
    """Put ``text`` in place of the document's section under ``heading`` (or at its end if it has none)."""
    document = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(document):
        document = pattern.sub(lambda _: text + "\n\n", document)
    else:
        document = document.rstrip() + "\n\n" + text + "\n"
    path.write_text(document.rstrip() + "\n")
