"""WeasyPrint rendering the fixed reference document (bench/reference_document.html): the first (cold)
render in a fresh process, then the median of warm renders, and pages. Not a test; `make bench` runs it
beside bench/pdf_bench.py (the consult of DT20 Patient 1) and reports the time per page of one against
the other. Prints one JSON object.

    .venv/bin/python bench/pdf_reference.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from io import BytesIO
from pathlib import Path

DOCUMENT = Path(__file__).resolve().parent / "reference_document.html"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="warm renders (default 5)")
    args = parser.parse_args()

    started = time.perf_counter()
    import weasyprint  # Pango, fontconfig: imported before the clock starts, as in bench/pdf_bench.py
    from pypdf import PdfReader

    import_ms = (time.perf_counter() - started) * 1000
    html = DOCUMENT.read_text(encoding="utf-8")

    def render() -> tuple[float, bytes]:
        t0 = time.perf_counter()
        document = weasyprint.HTML(string=html).write_pdf()
        return (time.perf_counter() - t0) * 1000, document

    cold_ms, document = render()
    warm = [render()[0] for _ in range(args.runs)]
    print(json.dumps({
        "document": DOCUMENT.name,
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
