"""Consult-summary PDF render time: the first (cold) render in a fresh process, then the median of
warm renders; pages and bytes. Not a test. Writes bench/pdf_results.json.

    .venv/bin/python bench/pdf_bench.py [--runs 10] [--case PATH] [--paper letter|a4]
    .venv/bin/python bench/pdf_bench.py --saved DB.sqlite3 [--runs 10] [--case PATH]

--saved: what a clinician's "Print" renders: the case saved as a consult (the first preferred option chosen)
in a throwaway SQLite database (bench settings; migrated if new), then ``consults.consult_print`` timed whole
(the document, its audit event), as the consult list's print button runs it. `make bench` uses this.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CASE = ROOT / "tests" / "cases" / "dt20-patient1-flt3-itd.json"  # DT20 Patient 1
TYPICAL_MAX_PAGES = 3


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _saved_print(workup, result):
    """The case saved as a consult by a bench clinician (the first preferred option, else the first with an
    override reason), and a render() timing ``consults.consult_print`` of it whole (html and pdf not apart)."""
    from django.contrib.auth.models import Group, User

    from aml_salvage import consults

    user, _ = User.objects.get_or_create(username="pdf-bench", defaults={"first_name": "Benchmark"})
    team, _ = Group.objects.get_or_create(name="PDF bench team")
    user.groups.add(team)
    preferred = next((o for o in result.options if o.tier == "preferred"), None)
    chosen = preferred or result.options[0]
    consult = consults.consult_create(
        author=user, team=team, workup=workup, result=result, chosen_option_id=chosen.id,
        override_reason="" if preferred else "Benchmark: no preferred option.", patient_identifier="BENCH-0001")

    def render() -> tuple[float, float, bytes]:
        t0 = time.perf_counter()
        document = consults.consult_print(consult=consult, user=user)
        return 0.0, time.perf_counter() - t0, document

    return render


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="warm renders (default 10)")
    parser.add_argument("--case", type=Path, default=DEFAULT_CASE, help="worked-case or workup JSON file")
    parser.add_argument("--paper", choices=["letter", "a4"], default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "pdf_results.json")
    parser.add_argument("--saved", type=Path, default=None, metavar="DB",
                        help="print a saved consult through consults.consult_print, in this SQLite database")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    if args.saved:
        os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings_bench"
        os.environ["AML_BENCH_DB"] = str(args.saved)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aml_salvage.settings.dev")
    import django

    django.setup()
    if args.saved:
        import warnings

        from django.core.management import call_command

        warnings.simplefilter("ignore")  # collectstatic's missing directory: no static file is served here
        call_command("migrate", verbosity=0)
    started = time.perf_counter()
    from pypdf import PdfReader

    from aml_salvage import pdf, services  # imports WeasyPrint (Pango, fontconfig)

    import_s = time.perf_counter() - started

    services.worker_start()  # as a server process starts (wsgi.py): knowledge base loaded, then gc.freeze
    data = json.loads(args.case.read_text(encoding="utf-8"))
    workup = services.workup_parse(data=data.get("workup", data))
    result = services.consult_evaluate(workup=workup)
    meta = pdf.consult_meta_build(workup=workup, patient_identifier="BENCH-0001", clinician="Benchmark")

    def render() -> tuple[float, float, bytes]:
        t0 = time.perf_counter()
        html = pdf.render_consult_html(result=result, workup=workup, meta=meta, paper=args.paper)
        t1 = time.perf_counter()
        document = pdf.render_consult_pdf(html=html)
        return t1 - t0, time.perf_counter() - t1, document

    if args.saved:
        render = _saved_print(workup, result)

    cold_html, cold_pdf, document = render()
    warm = [render() for _ in range(args.runs)]
    pages = len(PdfReader(BytesIO(document)).pages)
    figures = {
        "case": args.case.stem,
        "rendered_by": "consults.consult_print (a saved consult)" if args.saved else "pdf.render_consult_html/pdf",
        "paper": args.paper or "setting",
        "import_weasyprint_ms": ms(import_s),
        "cold_total_ms": ms(cold_html + cold_pdf),
        "cold_html_ms": ms(cold_html),
        "cold_pdf_ms": ms(cold_pdf),
        "warm_runs": args.runs,
        "warm_median_total_ms": ms(statistics.median(h + p for h, p, _ in warm)),
        "warm_median_html_ms": ms(statistics.median(h for h, _, _ in warm)),
        "warm_median_pdf_ms": ms(statistics.median(p for _, p, _ in warm)),
        "warm_min_total_ms": ms(min(h + p for h, p, _ in warm)),
        "warm_max_total_ms": ms(max(h + p for h, p, _ in warm)),
        "pages": pages,
        "bytes": len(document),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
    }
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    if pages > TYPICAL_MAX_PAGES:
        print(f"WARNING: {pages} pages; a typical consult must print on at most {TYPICAL_MAX_PAGES}")
    args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"written to {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
