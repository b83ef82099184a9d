from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import path

from . import views

urlpatterns = [
    path("", views.workspace, name="workspace"),
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
    path("workspace/print-draft/", views.print_draft, name="print_draft"),
    path("result/options/<slug:option_id>/", views.option_detail, name="option_detail"),
    path("consults/", views.consult_list, name="consult_list"),
    path("consults/new/", views.consult_create, name="consult_create"),
    path("consults/<int:pk>/", views.consult_detail, name="consult_detail"),
    path("consults/<int:pk>/revise/", views.consult_revise, name="consult_revise"),
    path("consults/<int:pk>/pdf/", views.consult_pdf, name="consult_pdf"),
    path("regimens/", views.regimen_list, name="regimen_list"),
    path("regimens/<slug:regimen_id>/", views.regimen_detail, name="regimen_detail"),
    path("admin/", admin.site.urls),
]
