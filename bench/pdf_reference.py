"""WeasyPrint rendering the fixed reference document (bench/reference_document.html): the first (cold)
render in a fresh process, then the median of warm renders, and pages. Not a test; `make bench` runs it
beside bench/pdf_bench.py (the consult of DT20 Patient 1) and reports the time per page of one against
the other. Prints one JSON object.

    .venv/bin/python bench/pdf_reference.py [--runs 5] [--document PATH]
    .venv/bin/python bench/pdf_reference.py --make PAGES --document PATH

--make: writes a reference document of PAGES pages (the fixed document's sections repeated, in order, as many
times as fill that many pages: its mix of headings, paragraphs and tables, at its density), so that the consult
is compared with a document of its own length (budget 6: "a reference document of the same length"). It
renders while searching, so `make bench` runs it in its own process, then times the written document in fresh
ones.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import statistics
import time
from io import BytesIO
from pathlib import Path

DOCUMENT = Path(__file__).resolve().parent / "reference_document.html"


def make(pages: int, out: Path) -> int:
    """Writes to ``out`` the fixed document with its sections (an h2 and what follows it) repeated in order
    until one more section would need a page more than ``pages``; returns the pages it has."""
    import weasyprint
    from pypdf import PdfReader

    fixed = DOCUMENT.read_text(encoding="utf-8")
    head, body = fixed.split("<body>", 1)
    body, tail = body.rsplit("</body>", 1)
    title, *rest = re.split(r"(?=<h2>)", body)
    sections = [part for part in rest if part.strip()]

    def document(n: int) -> str:
        return f"{head}<body>{title}{''.join(sections[i % len(sections)] for i in range(n))}</body>{tail}"

    @functools.cache
    def count(n: int) -> int:
        return len(PdfReader(BytesIO(weasyprint.HTML(string=document(n)).write_pdf())).pages)

    n = max(1, round(len(sections) * pages / max(1, count(len(sections)))))  # sections per page, scaled
    while n > 1 and count(n) > pages:
        n -= 1
    while count(n + 1) <= pages:
        n += 1
    out.write_text(document(n), encoding="utf-8")
    return count(n)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="warm renders (default 5)")
    parser.add_argument("--document", type=Path, default=DOCUMENT, help="the HTML document (default the fixed one)")
    parser.add_argument("--make", type=int, default=None, metavar="PAGES",
                        help="write a reference document of PAGES pages to --document, then stop")
    args = parser.parse_args()
    if args.make is not None:
        if args.document == DOCUMENT:
            parser.error("--make needs --document: the fixed document is not rewritten")
        pages = make(args.make, args.document)
        print(json.dumps({"document": str(args.document), "pages": pages, "asked": args.make}))
        return 0

    started = time.perf_counter()
    import weasyprint  # Pango, fontconfig: imported before the clock starts, as in bench/pdf_bench.py
    from pypdf import PdfReader

    import_ms = (time.perf_counter() - started) * 1000
    html = args.document.read_text(encoding="utf-8")

    def render() -> tuple[float, bytes]:
        t0 = time.perf_counter()
        document = weasyprint.HTML(string=html).write_pdf()
        return (time.perf_counter() - t0) * 1000, document

    cold_ms, document = render()
    warm = [render()[0] for _ in range(args.runs)]
    print(json.dumps({
        "document": args.document.name,
        "import_weasyprint_ms": round(import_ms, 1),
        "cold_total_ms": round(cold_ms, 1),
        "warm_runs": args.runs,
        "warm_median_total_ms": round(statistics.median(warm), 1),
        "warm_min_total_ms": round(min(warm), 1),
        "warm_max_total_ms": round(max(warm), 1),
        "pages": len(PdfReader(BytesIO(document)).pages),
        "bytes": len(document),
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
