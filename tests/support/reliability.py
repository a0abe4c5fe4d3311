"""The reliability suite's table: one row per scenario (what was emitted and committed, what was lost or
processed twice, how long recovery took), printed at the end of the run, written as JSON, and rendered into
docs/reliability.md.

    python -m support.reliability RESULTS.json [--doc docs/reliability.md]   (from tests/)

renders a JSON file the suite wrote (STARREID_RELIABILITY_JSON=path) as the Markdown table, and with --doc
replaces the table between the markers in that file."""
from __future__ import annotations

import argparse
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

BEGIN, END = "<!-- reliability:begin -->", "<!-- reliability:end -->"
HEADERS = ("scenario", "emitted", "committed", "lost", "duplicated", "recover s", "result", "notes")


@dataclass
class Row:
    """One scenario. emitted: tracklets the workers cut (or messages/configs sent, for fuzzing); committed:
    tracklets the gallery stored (or inputs handled cleanly); lost: emitted and never committed (or crashes);
    duplicated: tracklets processed more than once; recover_s: time from the fault's end to work flowing again."""

    scenario: str
    emitted: int | None = None
    committed: int | None = None
    lost: int | None = None
    duplicated: int | None = None
    recover_s: float | None = None
    notes: str = ""
    outcome: str = "passed"  # set by the suite from the test's result
    test: str = ""
    extra: dict = field(default_factory=dict)


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for r in rows:
        lines.append("| " + " | ".join(_cell(v) for v in (r.scenario, r.emitted, r.committed, r.lost, r.duplicated,
                                                           r.recover_s, r.outcome, r.notes)) + " |")
    return "\n".join(lines)


def text_table(rows: list[Row]) -> str:
    """Fixed-width columns for the terminal (notes last, unpadded)."""
    cells = [HEADERS] + [tuple(_cell(v) for v in (r.scenario, r.emitted, r.committed, r.lost, r.duplicated,
                                                  r.recover_s, r.outcome, r.notes)) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADERS) - 1)]
    out = []
    for n, c in enumerate(cells):
        out.append("  ".join(c[i].ljust(widths[i]) if i < 2 else c[i].rjust(widths[i])
                             for i in range(len(widths))) + "  " + c[-1])
        if n == 0:
            out.append("  ".join("-" * w for w in widths) + "  " + "-" * 5)
    return "\n".join(out)


def write_json(rows: list[Row], path: str | Path, meta: dict | None = None) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps({"meta": meta or {}, "rows": [asdict(r) for r in rows]}, indent=1))


def read_json(path: str | Path) -> tuple[list[Row], dict]:
    data = json.loads(Path(path).read_text())
    return [Row(**r) for r in data["rows"]], data.get("meta", {})


def update_doc(doc: str | Path, rows: list[Row], meta: dict) -> None:
    """Replace what lies between the markers in doc with the table (and when and how it was measured)."""
    text = Path(doc).read_text()
    when = ", ".join(f"{k} {v}" for k, v in meta.items())
    block = f"{BEGIN}\n{('_' + when + '_') if when else ''}\n\n{markdown(rows)}\n{END}"
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{doc}: no {BEGIN} ... {END} markers")
    Path(doc).write_text(pattern.sub(lambda _: block, text))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", help="the file STARREID_RELIABILITY_JSON named")
    ap.add_argument("--doc", help="also replace the table in this Markdown file (between the markers)")
    args = ap.parse_args(argv)
    rows, meta = read_json(args.json)
    print(markdown(rows))
    if args.doc:
        update_doc(args.doc, rows, meta)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
