from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import LogoutView
from django.urls import path

from . import views
from .health import health
from .middleware import mfa_exempt
from .views.cds_hooks import cds_discovery, cds_service
from .views.fhir import consult_fhir

urlpatterns = [
    path("", views.workspace, name="workspace"),
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", mfa_exempt(LogoutView.as_view()), name="logout"),
    path("accounts/", views.account, name="account"),
    path("accounts/two-factor/", views.mfa_setup, name="mfa_setup"),
    path("accounts/two-factor/verify/", views.mfa_verify, name="mfa_verify"),
    path("accounts/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("accounts/reset-link/", views.reset_link_issue, name="reset_link_issue"),
    path("accounts/reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("accounts/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("workspace/print-draft/", views.print_draft, name="print_draft"),
    path("result/options/<slug:option_id>/", views.option_detail, name="option_detail"),
    path("result/glance/", views.result_glance, name="result_glance"),
    path("consults/", views.consult_list, name="consult_list"),
    path("consults/new/", views.consult_create, name="consult_create"),
    path("consults/<int:pk>/", views.consult_detail, name="consult_detail"),
    path("consults/<int:pk>/revise/", views.consult_revise, name="consult_revise"),
    path("consults/<int:pk>/pdf/", views.consult_pdf, name="consult_pdf"),
    path("consults/<int:pk>/fhir/", consult_fhir, name="consult_fhir"),
    path("regimens/", views.regimen_list, name="regimen_list"),
    path("regimens/<slug:regimen_id>/", views.regimen_detail, name="regimen_detail"),
    path("cds-services", cds_discovery, name="cds_discovery"),
    path("cds-services/<slug:service_id>", cds_service, name="cds_service"),
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
]
