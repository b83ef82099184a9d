"""The printable consult summary: what a hematologist signs and files must carry the clinical content.

The PDF's text is extracted with pypdf and checked for the worked cases; each case is rendered once
per session. PNG previews of the pages go to test-artifacts/pdf/ for a person to look at.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from pypdf import PdfReader
from weasyprint.urls import FatalURLFetchingError

from aml_salvage import pdf, presentation, services
from aml_salvage.domain.result import TIER_LABELS
from aml_salvage.presentation import ConsultMeta
from aml_salvage.presentation.sheet import headline
from tests.factories import case_files, load_case

ROOT = Path(__file__).resolve().parent.parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "pdf"
CASES = case_files()
FLT3 = "dt20-patient1-flt3-itd"
POSACONAZOLE = "aza-ven-with-posaconazole"
# A sensible bound, not a budget that forces small type: the decision sheet (page 1, at 10 pt), every option
# at a glance (page 2) and the appendix at 8 pt or more (the type sizes and pages: test_pdf_type.py).
MAX_PAGES = 12
GENERATED_AT = "2026-03-02T14:30:00+00:00"  # fixed, so renders are reproducible


@dataclass(frozen=True)
class Summary:
    result: object
    html: str
    pdf: bytes

    @functools.cached_property
    def pages(self) -> list[str]:
        """Extracted text, page by page, on first use: tests/web/test_pdf_type.py reads most of its renders
        with pdfplumber only, and extracting every page with pypdf as well cost more than the render."""
        return [p.extract_text() for p in PdfReader(BytesIO(self.pdf)).pages]

    @property
    def text(self) -> str:
        return flat(" ".join(self.pages))


def flat(text: str) -> str:
    """Whitespace collapsed and words re-joined where a line broke after a hyphen; compare flat(a)
    with flat(b), as a name may itself contain '- ' ('Intermediate- or high-dose cytarabine')."""
    return re.sub(r"(?<=\w)- (?=\w)", "-", " ".join(text.split()))


def _meta(workup, **fields) -> ConsultMeta:
    return ConsultMeta(institution="Princess Margaret Leukemia Program", generated_at=GENERATED_AT,
                       patient_identifier="MRN 0012345", age_years=workup.patient.age_years,
                       sex=workup.patient.sex, clinician="Dr. Ada Hematologist", **fields)


def _case_path(stem: str) -> Path:
    return next(p for p in CASES if p.stem == stem)


@functools.cache
def _summary(stem: str, paper: str | None = None, **meta_fields) -> Summary:
    workup = services.workup_parse(data=load_case(_case_path(stem))["workup"])
    result = services.consult_evaluate(workup=workup)
    html = pdf.render_consult_html(result=result, workup=workup, meta=_meta(workup, **meta_fields), paper=paper)
    return Summary(result=result, html=html, pdf=pdf.render_consult_pdf(html=html))


@pytest.fixture(scope="session")
def summary():
    """Render a worked case once per session: summary(stem) -> Summary."""
    return _summary


class _OptionBlocks(HTMLParser):
    """The text of every element marked data-option="<id>" in the summary's HTML."""

    def __init__(self):
        super().__init__()
        self.blocks: dict[str, str] = {}
        self._open: list[tuple[str, str, int]] = []  # (option id, tag, depth)
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        self._depth += 1
        option_id = dict(attrs).get("data-option")
        if option_id:
            self._open.append((option_id, tag, self._depth))
            self.blocks[option_id] = ""

    def handle_endtag(self, tag):
        if self._open and self._open[-1][1] == tag and self._open[-1][2] == self._depth:
            self._open.pop()
        self._depth -= 1

    def handle_data(self, data):
        for option_id, _, _ in self._open:
            self.blocks[option_id] += data


# --- Clinical content ----------------------------------------------------------------------------

def test_flt3_itd_summary_carries_the_admiral_evidence(summary):
    text = summary(FLT3).text
    assert "Perl 2019 (ADMIRAL)" in text
    # The metric as reported, with its definition, then the survival comparison.
    assert "CR/CRh 34% (CR/CRh: complete remission" in text
    assert "Median OS 9.3 months (9.3 vs 5.6 months" in text
    assert "n=371" in text


def test_flt3_itd_summary_prints_gilteritinib_120_mg_in_its_dose_table(summary):
    text = summary(FLT3).text
    assert re.search(r"gilteritinib 120 mg 120 mg PO, once daily D1-28", text)
    assert "Dosing basis for this patient: Height 165 cm, weight 60 kg, BSA 1.66 m² (Mosteller)" in text


def test_flt3_itd_summary_lists_gilteritinib_as_preferred_first(summary):
    s = summary(FLT3)
    rows = re.findall(r'data-glance-option="([a-z0-9-]+)"', s.html)
    assert rows == [o.id for o in s.result.options] and rows[:2] == ["gilteritinib", "allo-hct"]
    # No option chosen (the command line): the sheet shows the rules' first option and says so.
    assert "Shown below: the rules' first option, PREFERRED Gilteritinib" in s.text


def test_posaconazole_case_prints_the_reduced_venetoclax_ramp_up(summary):
    text = summary(POSACONAZOLE).text
    for dose, day in (("10", "D1"), ("20", "D2"), ("50", "D3"), ("70", "D4-28")):
        assert re.search(rf"venetoclax {dose} mg {dose} mg PO, once daily {day} ", text), (dose, day)
    assert "posaconazole (strong CYP3A inhibitor): AML ramp-up 10/20/50 mg D1–3, then 70 mg daily" in text
    assert "ADJUSTED" in text  # the adjustment is flagged in words on the dose line
    assert not re.search(r"venetoclax 400 mg 400 mg", text), "the uninhibited dose must not be printed"
    # The adjustment's sentence once (with the aza + ven option printed in full), then named on each line.
    printed = text.count("AML ramp-up 10/20/50 mg D1–3, then 70 mg daily")
    assert printed >= 1 and text.count("ADJUSTED as the line above (D1)") == 3 * printed  # D2, D3, D4-28


def test_every_page_is_numbered_page_n_of_m(summary):
    pages = summary(FLT3).pages
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page


def test_every_page_names_the_knowledge_base_version_and_the_judgement_footer(summary):
    s = summary(FLT3)
    for page in s.pages:
        assert f"KB {s.result.kb_version}" in page
        assert "Supports, does not replace, clinical judgement" in page
        assert "Patient MRN 0012345" in page  # running header
    # The institution once, on page 1.
    assert s.text.count("Princess Margaret Leukemia Program") == 1 and "Princess Margaret" in s.pages[0]


def test_an_unset_institution_is_omitted_not_announced(settings):
    settings.AML_SALVAGE_INSTITUTION = ""
    workup = services.workup_parse(data=load_case(_case_path(FLT3))["workup"])
    meta = pdf.consult_meta_build(workup=workup, patient_identifier="MRN 1")
    html = pdf.render_consult_html(result=services.consult_evaluate(workup=workup), workup=workup, meta=meta)
    assert 'class="institution' not in html and "not configured" not in html


def test_header_names_patient_clinician_and_local_time(summary):
    first = " ".join(summary(FLT3).pages[0].split())
    assert "MRN 0012345 · 30 y · female" in first
    assert "Dr. Ada Hematologist" in first
    assert "2026-03-02 09:30 EST" in first  # 14:30 UTC in the institution's zone (America/Toronto)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case_summary_stays_within_a_sensible_page_count(path, summary):
    assert len(summary(path.stem).pages) <= MAX_PAGES


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_every_option_is_printed_with_its_tier_and_rule_ids(path, summary):
    s = summary(path.stem)
    parser = _OptionBlocks()
    parser.feed(s.html)
    assert set(parser.blocks) == {o.id for o in s.result.options}
    for option in s.result.options:
        block = " ".join(parser.blocks[option.id].split())
        assert option.name in block
        assert TIER_LABELS[option.tier] in block, f"{option.id}: tier not named in words"
        for rule in option.rules:
            assert rule.rule_id in block, f"{option.id}: {rule.rule_id} missing"
        assert flat(option.name) in s.text, f"{option.id} missing from the PDF text"


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_every_cited_reference_number_is_listed(path, summary):
    # On the printed text: the evidence notes hidden on paper quote the articles' own numbering.
    body, _, references = summary(path.stem).text.partition(" REFERENCES ")
    cited = {int(n) for group in re.findall(r"\[(\d+(?:, \d+)*)\]", body) for n in group.split(", ")}
    listed = {int(n) for n in re.findall(r"\[(\d+)\] ", references)}
    assert cited and cited <= listed, f"cited but not listed: {sorted(cited - listed)}"


def test_an_evidence_figure_to_verify_is_flagged_on_paper(summary):
    s = summary(FLT3)
    uncertain = [ev for o in s.result.options if o.tier in ("preferred", "alternative") for ev in o.evidence
                 if ev.uncertain and ev.setting != "newly diagnosed"]
    assert uncertain, "the worked case prints at least one figure to verify"
    for ev in uncertain:
        assert f"Figure to verify: {flat(ev.study)}" in s.text, ev.study


def test_views_where_the_articles_differ_and_provisional_targets_are_printed():
    """DT20 Patient 1 with an early relapse, adverse risk and genetics not re-tested: both articles' views
    on the options they concern, and the FLT3 options flagged provisional."""
    data = load_case(_case_path(FLT3))["workup"]
    data["disease"]["cr1_duration_months"] = 4
    data["genetics"]["eln2022_risk"] = "adverse"
    data["genetics"]["retested_at_relapse"] = False
    workup = services.workup_parse(data=data)
    result = services.consult_evaluate(workup=workup)
    html = pdf.render_consult_html(result=result, workup=workup, meta=_meta(workup))
    text = flat(" ".join(p.extract_text() for p in PdfReader(BytesIO(pdf.render_consult_pdf(html=html))).pages))
    parser = _OptionBlocks()
    parser.feed(html)
    with_views = [o for o in result.options if o.views]
    provisional = [o for o in result.options if o.provisional]
    assert with_views and provisional
    for option in with_views:
        block = " ".join(parser.blocks[option.id].split())
        assert "The articles differ:" in block, option.id
        for view in option.views:
            assert view.rule_id in block and view.source in block, (option.id, view.rule_id)
    for option in provisional:
        assert "Provisional: target not confirmed" in " ".join(parser.blocks[option.id].split()), option.id
    assert text.count("The articles differ:") == len(with_views)


def test_warnings_are_printed_in_full_once_and_referenced_from_their_options(summary):
    """In full once, in the appendix ('Warnings in full'); the decision sheet prints each of its option's warnings
    as a headline with the same W number."""
    s = summary(FLT3)
    printed = [o for o in s.result.options if o.tier in ("preferred", "alternative")]
    texts = {w.text for o in printed for w in o.warning_details}
    for text in texts:
        assert s.text.count(flat(text)) == 1, text[:60]
    assert "Warnings W1, W2, W3" in s.text  # gilteritinib's, in its heading
    first = flat(s.pages[0])
    for n, w in enumerate(s.result.options[0].warning_details, start=1):  # the sheet's option: gilteritinib
        assert flat(f"{headline(w.text)}") in first and f"W{n}" in first, w.text[:60]


def test_chosen_option_and_override_reason_are_printed_and_the_choice_in_full(summary):
    s = summary(FLT3, chosen_option_id="dec-ven", chosen_option_name="Decitabine + venetoclax",
                chosen_option_tier="consider", override_reason="Patient declined intensive therapy.")
    assert "Chosen option CONSIDER Decitabine + venetoclax" in s.text
    assert "Override reason (not the preferred option): Patient declined intensive therapy." in s.text
    sheet = s.html.split('data-sheet-option="dec-ven"', 1)[1].split('class="signatures"', 1)[0]
    assert "Patient dose" in sheet, "a chosen option is printed with its dose table on the sheet"


def test_a_saved_consult_choosing_an_alternative_stays_within_the_page_bound(summary):
    s = summary(FLT3, chosen_option_id="mec", chosen_option_name="MEC", chosen_option_tier="alternative",
                override_reason="Gilteritinib not funded for this patient; MEC as a bridge to transplant.",
                notes="Discussed at the leukemia tumour board.", consult_id=17)
    assert len(s.pages) <= MAX_PAGES
    assert "Chosen option ALTERNATIVE MEC" in s.text and "Consult #17" in s.text


def test_unsaved_summary_leaves_lines_to_write_the_choice_and_sign(summary):
    first = " ".join(summary(FLT3).pages[0].split())
    assert "Chosen option" in first and "Reason" in first
    for role in ("Prescriber", "Second clinician", "Pharmacist"):  # the sheet, signatures included, is page 1
        assert role in first
    assert first.count("Signature") == 3 and first.count("Date / time") == 3


# --- Paper, HTML and assets ----------------------------------------------------------------------

def test_letter_by_default_and_a4_by_setting(summary, settings):
    letter = PdfReader(BytesIO(summary(POSACONAZOLE).pdf)).pages[0].mediabox
    assert (round(float(letter.width)), round(float(letter.height))) == (612, 792)
    settings.AML_SALVAGE_PAPER_SIZE = "a4"
    workup = services.workup_parse(data=load_case(_case_path(POSACONAZOLE))["workup"])
    html = pdf.render_consult_html(result=services.consult_evaluate(workup=workup), workup=workup,
                                   meta=_meta(workup))
    a4 = PdfReader(BytesIO(pdf.render_consult_pdf(html=html))).pages[0].mediabox
    assert (round(float(a4.width)), round(float(a4.height))) == (595, 842)


def test_unknown_paper_size_is_a_configuration_error(settings):
    settings.AML_SALVAGE_PAPER_SIZE = "legal"
    with pytest.raises(ImproperlyConfigured, match="AML_SALVAGE_PAPER_SIZE"):
        pdf.paper_size()


def test_html_is_standalone_with_the_print_css_inlined(summary):
    html = summary(FLT3).html
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert "string-set: institution content()" in html  # print.css, inlined
    assert "<link" not in html and "http://" not in html and "https://" not in html


def test_pdf_embeds_dejavu_sans_from_debian(summary):
    reader = PdfReader(BytesIO(summary(FLT3).pdf))
    fonts = {str(f["/BaseFont"]) for page in reader.pages
             for f in page["/Resources"]["/Font"].get_object().values()}
    assert fonts and all("DejaVu" in f for f in fonts), fonts


# --- No network while rendering ------------------------------------------------------------------

@pytest.mark.parametrize("url", ["https://fonts.googleapis.com/css?family=Roboto", "http://127.0.0.1/x.css",
                                 "ftp://example.org/x"])
def test_url_fetcher_refuses_network_urls(url):
    with pytest.raises(pdf.URLRefused):
        pdf.StaticOnlyFetcher()(url)


def test_url_fetcher_refuses_files_outside_static():
    with pytest.raises(pdf.URLRefused):
        pdf.StaticOnlyFetcher()("file:///etc/passwd")
    escape = (pdf.static_root() / ".." / "manage.py").as_uri()
    with pytest.raises(pdf.URLRefused):
        pdf.StaticOnlyFetcher()(escape)


def test_url_fetcher_serves_static_files():
    response = pdf.StaticOnlyFetcher()((pdf.static_root() / "css" / "print.css").as_uri())
    assert b"string-set" in response.read()
    assert response.content_type == "text/css"


def test_a_remote_resource_stops_the_render_instead_of_being_fetched():
    html = '<html><body><img src="https://example.org/logo.png"><p>x</p></body></html>'
    with pytest.raises(FatalURLFetchingError):
        pdf.render_consult_pdf(html=html)


def test_a_static_stylesheet_can_be_linked():
    html = '<html><head><link rel="stylesheet" href="css/print.css"></head><body><p>x</p></body></html>'
    assert pdf.render_consult_pdf(html=html).startswith(b"%PDF")


# --- The workup table ----------------------------------------------------------------------------

def test_workup_rows_give_every_section_in_words():
    workup = services.workup_parse(data=load_case(_case_path(FLT3))["workup"])
    sections = presentation.workup_sections(workup)
    assert [s.title for s in sections] == ["Patient", "Organ function", "Heart", "Disease", "Genetics",
                                           "Prior therapy", "Transplant", "Context"]
    values = {(s.title, label): value for s in sections for label, value in s.rows}
    assert values["Organ function", "Creatinine"] == "80 µmol/L"
    assert values["Genetics", "Detected"] == "FLT3-ITD"
    assert values["Disease", "CR1 duration"] == "9 months"
    assert values["Transplant", "Donor available"] == presentation.labels.DONOR_UNKNOWN


def test_the_printed_workup_keeps_every_row_and_labels_whole():
    workup = services.workup_parse(data=load_case(_case_path(FLT3))["workup"])
    view = presentation.consult_view(result=services.consult_evaluate(workup=workup),
                                     parameters=services.knowledge_get().parameters, workup=workup)
    printed = pdf._paper_workup(view)
    assert [(title, [(label.replace(pdf.NBSP, " "), value.replace(pdf.NBSP, " ")) for label, value in rows])
            for title, rows in printed] == [(s.title, s.rows) for s in view.workup]
    assert all(" " not in label for _, rows in printed for label, _ in rows)
    nb = pdf.NBSP
    assert dict(printed)["Patient"][2] == (f"Height{nb}/{nb}weight", f"165{nb}cm{nb}/{nb}60{nb}kg")


# --- Rendering time ------------------------------------------------------------------------------

def test_the_font_configuration_is_kept_per_thread():
    first = pdf.font_config()
    assert pdf.font_config() is first
    others = []
    thread = threading.Thread(target=lambda: others.append(pdf.font_config()))
    thread.start()
    thread.join()
    assert others and others[0] is not first  # Pango font maps are not shared between threads


# --- Previews for a person -----------------------------------------------------------------------

@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_pages_are_rendered_to_png_for_review(path, summary):
    """Every worked case's PDF, its HTML and a PNG per page (100 dpi) in test-artifacts/pdf/<case>/."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm missing: install Debian's poppler-utils (make system-deps)")
    stem = path.stem
    s = summary(stem)
    folder = ARTIFACTS / stem
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("page-*.png"):
        old.unlink()
    (folder / f"{stem}.pdf").write_bytes(s.pdf)
    (folder / f"{stem}.html").write_text(s.html, encoding="utf-8")
    subprocess.run(["pdftoppm", "-png", "-r", "100", str(folder / f"{stem}.pdf"), str(folder / "page")],
                   check=True, timeout=120)
    pngs = sorted(folder.glob("page-*.png"))
    assert len(pngs) == len(s.pages)
    for png in pngs:
        assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 20_000, png
