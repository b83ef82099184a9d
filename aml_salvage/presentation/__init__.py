"""One presentation model of a consult — labels (one vocabulary), option rows, dose tables, workup rows,
references — built once by ``consult_view`` and read by the live panel, the saved page and the PDF.

Templates never compute or format clinical numbers: they loop over the model, or call these functions
through the ``clinical`` template filters.
"""

from . import labels
from .doses import SAME_AS_ABOVE, DoseLineView, DoseTable, dose_table, rounding_statements, shared_rounding
from .formatting import (
    crcl_text,
    dose_not_assessed,
    dose_patient,
    dose_per_unit,
    evidence_n,
    evidence_os,
    evidence_response,
    number,
    ref_numbers_text,
    unit_label,
)
from .glance import Glance, GlanceRow, glance_build
from .library import regimens_by_kind
from .model import (
    ConsultMeta,
    ConsultView,
    OptionView,
    Thresholds,
    TierGroup,
    consult_view,
    references_cited,
    result_parameters,
    view_context,
)
from .monitoring import MonitoringPlan, monitoring_plan
from .workup import WorkupSection, workup_sections

__all__ = [
    "SAME_AS_ABOVE", "ConsultMeta", "Glance", "GlanceRow", "MonitoringPlan", "glance_build",
    "monitoring_plan", "ConsultView", "DoseLineView", "DoseTable", "OptionView", "Thresholds",
    "TierGroup", "WorkupSection", "consult_view", "crcl_text", "dose_not_assessed", "dose_patient",
    "dose_per_unit", "dose_table", "evidence_n", "evidence_os", "evidence_response", "labels", "number",
    "ref_numbers_text", "references_cited", "regimens_by_kind", "result_parameters", "rounding_statements",
    "shared_rounding", "unit_label", "view_context", "workup_sections",
]
