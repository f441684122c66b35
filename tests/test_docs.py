"""The README's results table and the current-results table of ``benchmarks/NOTES.md`` are the same table."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def results_table(text: str) -> list[str]:
    """The rows of the first Markdown table whose header is ``| what | result | command |``."""
    lines = text.splitlines()
    start = lines.index("| what | result | command |")
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append(line.strip())
    return rows


def test_readme_quotes_the_current_results_of_the_notes():
    readme = results_table((ROOT / "README.md").read_text())
    notes = results_table((ROOT / "benchmarks" / "NOTES.md").read_text())
    assert len(readme) > 3
    assert readme == notes, "README.md and benchmarks/NOTES.md ('Current results') must hold the same results table"


def test_every_result_names_its_command():
    for row in results_table((ROOT / "README.md").read_text())[2:]:
        command = row.rstrip("|").rsplit("|", 1)[-1]
        assert "`" in command, f"a result without a command: {row[:80]}"
