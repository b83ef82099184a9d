"""FHIR R4 export of a consult: ``bundle.consult_bundle`` builds the document (pure), ``export`` records and
serialises it for the view and the command line."""

from .bundle import consult_bundle, result_rule_ids

__all__ = ["consult_bundle", "result_rule_ids"]
