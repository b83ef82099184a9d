"""The consult list read by index (consults.ConsultListing, issue 15): the same consults, in the same order,
page by page, as the definition (consults.consult_search: one's own and one's teams', newest first), and the
identifier search finds identifiers by their start, in any case, and nothing else."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.core.paginator import Paginator
from django.urls import reverse

from aml_salvage import consults as service
from aml_salvage.views import consults as views
from tests.web.conftest import saved_consult

pytestmark = pytest.mark.django_db


def pages(user, query="", per_page=2) -> list[list[int]]:
    paginator = Paginator(service.ConsultListing(user=user, query=query), per_page)
    return [[c.pk for c in paginator.page(n).object_list] for n in paginator.page_range]


def flat(listed: list[list[int]]) -> list[int]:
    return [pk for page in listed for pk in page]


@pytest.fixture
def history(author, teammate, outsider, team, other_team):
    """Alice saved two consults in Leukemia A, then moved to Leukemia B; Bob (A) and Olga (B) saved theirs;
    Carl, in a third team, one."""
    own_old = saved_consult(author, patient_identifier="MRN-100")
    own_recent = saved_consult(author, patient_identifier="mrn-200")
    author.groups.remove(team)
    author.groups.add(other_team)
    by_teammate_left = saved_consult(teammate, patient_identifier="MRN-300")
    by_new_team = saved_consult(outsider, patient_identifier="XMRN-400")
    third = Group.objects.create(name="Leukemia C")
    carl = User.objects.create_user("carl", password=None)
    carl.groups.add(third)
    elsewhere = saved_consult(carl, patient_identifier="MRN-500")
    own_in_new_team = saved_consult(author, patient_identifier="MR-600")
    return {"own_old": own_old, "own_recent": own_recent, "by_teammate_left": by_teammate_left,
            "by_new_team": by_new_team, "elsewhere": elsewhere, "own_in_new_team": own_in_new_team}


def test_pages_hold_ones_own_and_ones_teams_consults_newest_first_each_once(author, history):
    h = history
    expected = [h["own_in_new_team"].pk, h["by_new_team"].pk, h["own_recent"].pk, h["own_old"].pk]
    # Own consults stay visible after leaving their team; the old team's others do not; no other team's.
    assert flat(pages(author)) == expected
    assert pages(author) == [expected[:2], expected[2:]]
    assert list(service.consult_search(user=author).values_list("pk", flat=True)) == expected  # the definition
    assert service.ConsultListing(user=author).count() == 4
    assert pages(author, per_page=3) == [expected[:3], expected[3:]]


def test_a_teams_consults_are_listed_to_every_member_not_to_others(teammate, outsider, history):
    h = history
    assert flat(pages(teammate)) == [h["by_teammate_left"].pk, h["own_recent"].pk, h["own_old"].pk]
    assert flat(pages(outsider)) == [h["own_in_new_team"].pk, h["by_new_team"].pk]


def test_the_search_finds_identifiers_by_their_start_in_any_case(author, history):
    h = history
    assert flat(pages(author, "mrn")) == [h["own_recent"].pk, h["own_old"].pk]  # not XMRN-400, not MR-600
    assert flat(pages(author, "MRN-2")) == [h["own_recent"].pk]
    assert flat(pages(author, "Mr")) == [h["own_in_new_team"].pk, h["own_recent"].pk, h["own_old"].pk]
    assert flat(pages(author, "xmrn-400")) == [h["by_new_team"].pk]
    # Not inside an identifier; not another team's (MRN-500, MRN-300 after Alice left Leukemia A).
    for query in ("RN", "400", "MRN-5", "MRN-3"):
        assert pages(author, query) == [[]], query
    # LIKE's wildcards are characters like any other.
    for query in ("M_N", "MRN%", "%", "_"):
        assert pages(author, query) == [[]], query
    for query in ("mrn", "MRN-2", "Mr", "xmrn-400", "RN", "M_N"):
        listing = service.ConsultListing(user=author, query=query)
        found = list(service.consult_search(user=author, query=query).values_list("pk", flat=True))
        assert [c.pk for c in listing[0:10]] == found and listing.count() == len(found), query


def test_no_consult_for_a_signed_out_or_inactive_user(author, history):
    from django.contrib.auth.models import AnonymousUser

    assert pages(AnonymousUser()) == [[]]
    author.is_active = False
    author.save()
    assert pages(author) == [[]]


def test_the_list_page_pages_through_the_listing_and_the_search(client_for, author, history, monkeypatch):
    monkeypatch.setattr(views, "CONSULTS_PER_PAGE", 2)
    client = client_for(author)
    first = client.get(reverse("consult_list")).content.decode()
    second = client.get(reverse("consult_list"), {"page": 2}).content.decode()
    assert "MR-600" in first and "XMRN-400" in first and "MRN-100" not in first
    assert "mrn-200" in second and "MRN-100" in second and "Page 2 of 2" in second
    client.post(reverse("consult_list"), {"q": "mrn"})
    found = client.get(reverse("consult_list")).content.decode()
    assert "(2)" in found and "mrn-200" in found and "MRN-100" in found and "XMRN-400" not in found
    assert "whose identifier starts with" in found
