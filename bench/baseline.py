"""The floor any Django page stands on (not part of the product): a view that binds and validates a
10-field form and renders a small page. `make bench` measures it beside the workspace's live update, in
the same run, under the same settings and middleware, twice: anonymous (`baseline_bare`: no session is
read or written — the bare form POST the issue's reference figures describe; the ratio's denominator), and
signed in with the same session as the product (`baseline`: what every signed-in page of the app pays).
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods


class BaselineForm(forms.Form):
    name = forms.CharField(max_length=100)
    age = forms.IntegerField(min_value=18, max_value=120)
    height_cm = forms.FloatField(min_value=50, max_value=250)
    weight_kg = forms.FloatField(min_value=20, max_value=300)
    sex = forms.ChoiceField(choices=[("female", "Female"), ("male", "Male")])
    fit = forms.BooleanField(required=False)
    ecog = forms.TypedChoiceField(choices=[(str(i), str(i)) for i in range(5)], coerce=int)
    jurisdiction = forms.ChoiceField(choices=[("CA", "Canada"), ("US", "United States")])
    notes = forms.CharField(required=False, max_length=1000)
    seen_on = forms.DateField()


BASELINE_POST = {
    "name": "Baseline Patient", "age": "30", "height_cm": "165", "weight_kg": "60", "sex": "female", "fit": "on",
    "ecog": "0", "jurisdiction": "CA", "notes": "bench", "seen_on": "2026-03-02",
}


@require_http_methods(["GET", "POST"])
def baseline(request: HttpRequest) -> HttpResponse:
    form = BaselineForm(request.POST or None)
    valid = form.is_valid()
    return render(request, "bench/baseline.html", {"form": form, "valid": valid,
                                                   "cleaned": form.cleaned_data if valid else {}})


baseline_bare = login_not_required(baseline)


@require_http_methods(["POST"])
def ping(request: HttpRequest) -> HttpResponse:
    """The smallest htmx round trip from the workspace page (budget 1's denominator, bench/browser_bench.py):
    a signed-in POST through every middleware, CSRF checked, answering a tiny fragment to swap."""
    return HttpResponse(f'<span class="bench-pong">{int(request.POST.get("n", "0") or 0)}</span>')
