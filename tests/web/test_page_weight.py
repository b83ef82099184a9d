"""Page weight (issue 6): the workspace page with everything it loads, and one live update fragment.

Budgets: the page with its CSS and JavaScript ≤ 150 KB uncompressed; one update fragment ≤ 40 KB on the
wire (gzip). The raw fragment's own guard is a regression limit: every option keeps its tier, target,
availability and every reason with its rule id inline, with an evidence line per record, and the preferred
options their dose tables and warnings — 38–49 KB of HTML across the worked cases (bench/results.md).
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from tests.factories import case_files, load_case
from tests.web.conftest import post_data

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
PAGE_BUDGET = 150_000  # the workspace page with its CSS and htmx, uncompressed
FRAGMENT_WIRE_BUDGET = 40_000  # one live update, gzip on the wire
FRAGMENT_RAW_GUARD = 52_000  # regression guard for the raw fragment of any worked case (see above)
CASE = next(p for p in case_files() if p.stem == "dt20-patient1-flt3-itd")  # tests/cases without ../shared


@pytest.fixture
def client(client_for, author):
    return client_for(author)


def dt20_patient1() -> dict:
    return post_data(load_case(CASE)["workup"])


def test_workspace_page_with_everything_it_loads_stays_within_150_kb(client):
    page = client.get(reverse("workspace")).content.decode()
    urls = re.findall(r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', page)
    urls += re.findall(r'<script[^>]+src="([^"]+)"', page)
    assert urls, "the page loads its stylesheet and htmx"
    assets = 0
    for url in urls:
        found = finders.find(url.removeprefix("/static/"))
        assert found, f"{url} is not one of our static files"
        assets += Path(found).stat().st_size
    assert len(page) + assets <= PAGE_BUDGET, f"page {len(page)} + assets {assets} bytes"


def test_live_update_fragment_for_dt20_patient1_is_small_on_the_wire(client):
    response = client.post(reverse("workspace"), dt20_patient1(), HTTP_ACCEPT_ENCODING="gzip", **HX)
    assert response["Content-Encoding"] == "gzip"
    assert len(response.content) <= FRAGMENT_WIRE_BUDGET, f"{len(response.content)} bytes compressed"
    assert 'id="result-panel"' in gzip.decompress(response.content).decode()


@pytest.mark.parametrize("case", case_files(), ids=lambda p: p.stem)
def test_live_update_fragment_raw_size_does_not_regress(client, case):
    body = client.post(reverse("workspace"), post_data(load_case(case)["workup"]), **HX).content
    assert b'id="result-panel"' in body and body.count(b"data-option=") == 28
    assert len(body) <= FRAGMENT_RAW_GUARD, f"{len(body)} bytes of HTML"
