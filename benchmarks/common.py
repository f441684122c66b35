"""What every benchmark script shares: writing its table to a CSV file (``--csv``)."""
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
