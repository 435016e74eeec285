"""Write generated pages into a folder of the source tree, touching only what changed.

Unchanged files keep their mtime (so Sphinx does not re-read them); files the generator no
longer produces are removed.
"""

from __future__ import annotations

from pathlib import Path


def sync_pages(out: Path, wanted: dict, pattern: str = "*.md") -> None:
    """Make ``out``'s ``pattern`` files exactly ``wanted`` ({path: text})."""
    for stale in set(out.glob(pattern)) - set(wanted):
        stale.unlink()
    for file, text in wanted.items():
        if not file.exists() or file.read_text() != text:
            file.write_text(text)
