"""What every benchmark script shares: printing its table as Markdown and writing it to a CSV file."""
from __future__ import annotations

import csv
from pathlib import Path


def write_csv(rows: list[dict], path: str | Path, fieldnames: list[str] | None = None) -> Path:
    """Write ``rows`` (dicts with the same keys) to ``path``, creating its folder; print and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fieldnames or list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {path}")
    return path


def print_markdown_table(rows: list[dict], columns: dict[str, str]) -> None:
    """Print ``rows`` as a Markdown table; ``columns`` maps each key to its header (numbers align right)."""
    first = rows[0]
    print("\n| " + " | ".join(columns.values()) + " |")
    print("|" + "|".join("---:" if isinstance(first[k], (int, float)) else "---" for k in columns) + "|")
    for row in rows:
        print("| " + " | ".join(str(row[k]) for k in columns) + " |")
