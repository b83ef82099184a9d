"""The decision sheet's short forms (page 1 of the printed consult): a headline for a long sentence, and the
chosen option's dose table with its shared basis stated once and its long notes numbered.

Page 1 carries everything the sheet needs at reading size; text too long for it is printed in full in the
appendix and page 1 says where. Nothing is dropped, only moved: the short forms here are always paired with
the full text elsewhere in the same document. What a dose needs to be given safely — its figures, its status,
what was not assessed and every adjustment — is never shortened.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from .doses import SAME_AS_ABOVE, DoseLineView, DoseTable

HEADLINE_CHARS = 85  # about one line of 10 pt text across the sheet, with its badge and reference numbers
ELLIPSIS = "…"
EXACT = " (exact"  # formatting.dose_patient: '135 mg (exact 134.6 mg)'
NOTE_INLINE_CHARS = 90  # a dose note up to this long stays on its line; a longer one is numbered (N1, N2...)
# A sentence ends at '.', '!' or '?' followed by a space and a capital or an opening bracket: 'e.g. nystagmus'
# and '9.3 vs. 5.6' do not end one.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[])")
# Where a long sentence may be cut, best first: after a clause (';', a dash), after a comma, then at a colon
# (what precedes a colon is the subject: 'Tumor lysis syndrome with venetoclax: ...'); each with the least
# share of the limit a cut there must keep (a comma early in a sentence often only lists: 'Fit, curative ...').
_CLAUSE_BREAKS = ((("; ", " — "), 1 / 3), ((", ",), 1 / 2), ((": ",), 1 / 3))


def headline(text: str, limit: int = HEADLINE_CHARS) -> str:
    """The text's first sentence when it fits in ``limit`` characters; otherwise the sentence cut after its
    last whole clause inside the limit (at ';' or ' — ', else ',', else ':', never inside brackets) or, failing
    those, after its last whole word, with an ellipsis. The caller prints the full text elsewhere and says where."""
    text = " ".join(text.split())
    first = _SENTENCE_END.split(text, 1)[0]
    if len(first) <= limit:
        return first
    for breaks, share in _CLAUSE_BREAKS:
        floor = int(limit * share)  # a cut earlier than this would say too little: try the next kind of break
        cuts = [i for b in breaks for i in _positions(first, b, limit) if i >= floor and _balanced(first[:i])]
        if cuts:
            return f"{first[:max(cuts)].rstrip(' ,;:—')} {ELLIPSIS}"
    cut = first.rfind(" ", 0, limit)
    words = first[:cut] if cut > 0 else first[:limit]
    if not _balanced(words) and words.rfind("(") >= limit // 3:  # not '... here (older/less …': stop before the bracket
        words = words[:words.rfind("(")]
    return f"{words.rstrip(' ,;:—')} {ELLIPSIS}"


def _positions(text: str, sep: str, limit: int) -> list[int]:
    found, start = [], 0
    while (i := text.find(sep, start, limit)) >= 0:
        found.append(i)
        start = i + 1
    return found


def _balanced(text: str) -> bool:
    return text.count("(") == text.count(")") and text.count("[") == text.count("]")


@dataclass(frozen=True)
class SheetDoseLine:
    row: DoseLineView
    basis: str | None  # the line's own basis, only when it differs from the table's shared basis
    notes: list[str]  # short notes, printed on the line
    note_numbers: list[int]  # long notes, printed in full in the appendix as N<number>

    @property
    def dose_figure(self) -> str:
        """The dose given ('57 mg'), printed large and bold; dose_exact follows it ('(exact 57.28 mg)')."""
        return self.row.patient_dose.partition(EXACT)[0]

    @property
    def dose_exact(self) -> str:
        figure, sep, exact = self.row.patient_dose.partition(EXACT)
        return f"{sep.strip()} {exact.strip()}" if sep else ""

    @property
    def adjustments(self) -> list[str]:
        """Adjustments printed in full below the line."""
        return [a for a in self.row.adjustments if not a.startswith(SAME_AS_ABOVE)]

    @property
    def adjustments_above(self) -> list[str]:
        """Adjustments identical to the line above ('as the line above (D1)'), short enough for the status."""
        return [a for a in self.row.adjustments if a.startswith(SAME_AS_ABOVE)]


@dataclass(frozen=True)
class SheetNote:
    number: int
    lines: str  # which lines it belongs to ('cytarabine 2,000 mg/m²')
    text: str


@dataclass(frozen=True)
class SheetDoses:
    table: DoseTable
    lines: list[SheetDoseLine]
    shared_basis: str | None  # the basis most lines share, stated once above the table
    notes: list[SheetNote]


def sheet_doses(table: DoseTable) -> SheetDoses:
    """The decision sheet's form of a dose table (every line, every figure, status and adjustment kept): the
    line basis most lines share is stated once, above the table (a line with another basis names its own), and
    each note longer than NOTE_INLINE_CHARS is numbered, its full text printed in the appendix."""
    counts = Counter(row.basis for row in table.lines)
    common, count = counts.most_common(1)[0] if counts else ("", 0)
    shared = common if count >= 2 or len(table.lines) == 1 else None
    notes: dict[str, SheetNote] = {}
    lines = []
    for row in table.lines:
        short, numbers = [], []
        for note in row.notes:
            if len(note) <= NOTE_INLINE_CHARS:
                short.append(note)
                continue
            if note not in notes:
                notes[note] = SheetNote(number=len(notes) + 1, lines=f"{row.line.drug} {row.regimen_dose}",
                                        text=note)
            numbers.append(notes[note].number)
        lines.append(SheetDoseLine(row=row, basis=None if row.basis == shared else row.basis, notes=short,
                                   note_numbers=numbers))
    return SheetDoses(table=table, lines=lines, shared_basis=shared, notes=list(notes.values()))
