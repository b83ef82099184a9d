"""Staff pages: saved consults as read-only snapshots, the audit trail (read-only, CSV export), and the
knowledge base as loaded.

Staff are the hospital's trusted auditors: they see every team's consults here, and each consult they
open, each page of the consult list they are shown (with its filters), each look at the audit trail and
each export of it is recorded in the audit trail. Clinicians who are not staff never reach the admin.
No patient identifier search or filter here: it would put the identifier in the URL (browser history,
server logs), so a URL that filters on the identifier is refused (400) rather than honoured.

The knowledge base is not mirrored into database tables: it lives in validated YAML files under
``fixtures/knowledge`` (reviewed in git, versioned in meta.yaml) and is read through
``services.knowledge_get()``. A table-less model gives it an entry on the admin index; its page lists the
records the engine uses, linking to the regimen library for the full detail.
"""

from __future__ import annotations

import json
import logging

from django.contrib import admin
from django.contrib.admin.exceptions import DisallowedModelAdminLookup
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html

from . import services
from .audit import audit_csv_lines, audit_events, audit_record
from .models import AuditEvent, Consult, KnowledgeBaseEntry
from .presentation import regimens_by_kind


def _refuse_identifier_lookup(lookup: str) -> None:
    """No filter in an admin URL may carry a patient identifier (?patient_identifier__icontains=..., or the
    trail's detail, which holds the identifiers searched for): refused with 400, not honoured."""
    parts = lookup.split("__")
    if "patient_identifier" in parts or parts[0] == "detail":
        raise DisallowedModelAdminLookup(f"filtering on {lookup} is not allowed")


class ReadOnlyStaffAdmin(admin.ModelAdmin):
    """Staff read; nobody adds, changes or deletes here (snapshots and the trail are append-only, and the
    knowledge base is edited as versioned files, not in the admin)."""

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Consult)
class ConsultAdmin(ReadOnlyStaffAdmin):
    list_display = ("id", "created_at", "patient_identifier", "chosen_option_id", "chosen_option_tier", "team",
                    "author", "kb_version", "revision_of")
    list_filter = ("team", "chosen_option_tier", "kb_version")
    date_hierarchy = "created_at"
    list_select_related = ("team", "author", "revision_of")
    fields = ("id", "created_at", "team", "author", "patient_identifier", "kb_version", "chosen_option_id",
              "chosen_option_tier", "override_reason", "notes", "revision_of", "workup_json", "result_json")
    readonly_fields = fields
    actions = None

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        match = request.resolver_match
        if match and match.url_name == "aml_salvage_consult_changelist":
            queryset = queryset.defer("workup", "result_zstd")  # the list shows neither
        return queryset

    def lookup_allowed(self, lookup, value, request=None):
        _refuse_identifier_lookup(lookup)
        return super().lookup_allowed(lookup, value, request)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        if response.status_code == 200:  # every team's identifiers were shown
            audit_record(action="listed", user=request.user, request=request,
                         detail=_admin_list_detail("admin consult list", request))
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        consult = response.context_data.get("original") if hasattr(response, "context_data") else None
        if response.status_code == 200 and consult is not None:
            audit_record(consult=consult, user=request.user, action="viewed")
        return response

    @admin.display(description="workup")
    def workup_json(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.workup, indent=2, ensure_ascii=False))

    @admin.display(description="result")
    def result_json(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.result, indent=2, ensure_ascii=False))


logger = logging.getLogger("aml_salvage.audit")


def _admin_list_detail(what: str, request) -> str:
    filters = request.GET.urlencode()
    return f"{what}: {filters}" if filters else what


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyStaffAdmin):
    """The audit trail, read-only for staff, with a CSV export of the whole trail."""

    list_display = ("at", "username", "action", "consult_link", "team", "ip_address", "detail")
    list_filter = ("action", "consult__team")
    date_hierarchy = "at"
    list_select_related = ("user", "consult__team")
    fields = ("at", "user", "username", "action", "consult", "ip_address", "detail")
    readonly_fields = fields
    actions = None
    change_list_template = "admin/aml_salvage/auditevent/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).defer("consult__workup", "consult__result_zstd")

    def lookup_allowed(self, lookup, value, request=None):
        _refuse_identifier_lookup(lookup)
        return super().lookup_allowed(lookup, value, request)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        if response.status_code == 200:  # the trail holds identifiers searched for: reading it is recorded
            audit_record(action="trail_viewed", user=request.user, request=request,
                         detail=_admin_list_detail("audit trail", request))
        return response

    @admin.display(description="consult", ordering="consult")
    def consult_link(self, obj):
        return format_html("Consult {}", obj.consult_id) if obj.consult_id else ""

    @admin.display(description="team")
    def team(self, obj):
        return obj.consult.team.name if obj.consult_id else ""

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        export = path("export.csv", self.admin_site.admin_view(self.export_csv), name="{}_{}_export".format(*info))
        return [export, *super().get_urls()]

    def export_csv(self, request):
        """The whole trail as CSV (time, user, team, consult_id, action, address, detail), streamed. The
        export is itself recorded first, so it appears in the file it produces."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        logger.info("audit trail exported by user id %s", request.user.pk)
        audit_record(action="trail_exported", user=request.user, request=request)
        events = audit_events()
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response = StreamingHttpResponse(audit_csv_lines(events), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="aml-salvage-audit-{stamp}.csv"'
        return response


@admin.register(KnowledgeBaseEntry)
class KnowledgeBaseAdmin(ReadOnlyStaffAdmin):
    """The loaded knowledge base, read-only: regimens, references, warnings and rules."""

    def changelist_view(self, request, extra_context=None):
        kb = services.knowledge_get()
        context = {
            **self.admin_site.each_context(request),
            "title": f"Knowledge base {kb.version}",
            "opts": self.model._meta,
            "kb": kb,
            "groups": regimens_by_kind(kb),
            "references": sorted(kb.references.values(), key=lambda r: r.id),
            "warnings": sorted(kb.warnings.values(), key=lambda w: w.id),
            "rules": sorted(kb.rules.values(), key=lambda r: r.id),
        }
        return TemplateResponse(request, "regimens/admin_knowledge.html", context)

    def get_urls(self):
        # Only the list page: there are no rows to open, change or delete.
        info = self.opts.app_label, self.opts.model_name
        return [path("", self.admin_site.admin_view(self.changelist_view), name="{}_{}_changelist".format(*info))]
