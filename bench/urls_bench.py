"""URLs of the benchmark server: the product's, the on-demand option detail (until aml_salvage/urls.py
routes it), the baseline view and the minimal htmx endpoint (not part of the product)."""

from django.urls import path

from aml_salvage.urls import urlpatterns as product_urlpatterns
from bench.baseline import baseline, baseline_bare, ping

_routed = {p.name for p in product_urlpatterns if getattr(p, "name", None)}
_extra = []
try:
    from aml_salvage.views.option_detail import URL_NAME, option_detail
except ImportError:  # a checkout from before the on-demand detail (bench/run.py measuring "before")
    pass
else:
    if URL_NAME not in _routed:
        _extra.append(path("result/options/<slug:option_id>/", option_detail, name=URL_NAME))

urlpatterns = [
    *product_urlpatterns, *_extra,
    path("bench/baseline/", baseline, name="bench_baseline"),
    path("bench/baseline-bare/", baseline_bare, name="bench_baseline_bare"),
    path("bench/ping/", ping, name="bench_ping"),
]
