"""Thin views: form → service → render. HTMX requests get the fragment they swap, nothing more."""

from .accounts import (
    PasswordChangeView,
    PasswordResetConfirmView,
    SignInView,
    account,
    mfa_setup,
    mfa_verify,
    reset_link_issue,
)
from .consults import consult_create, consult_detail, consult_list, consult_pdf, consult_revise
from .option_detail import option_detail, result_glance
from .print_draft import print_draft
from .regimens import regimen_detail, regimen_list
from .workspace import workspace

__all__ = [
    "PasswordChangeView", "PasswordResetConfirmView", "SignInView", "account", "mfa_setup", "mfa_verify",
    "reset_link_issue", "consult_create", "consult_detail", "consult_list", "consult_pdf",
    "consult_revise", "option_detail", "print_draft", "regimen_detail", "regimen_list", "result_glance",
    "workspace",
]
