"""Identity-provider pages: list/filter, create with field errors, detail with callback URL, secret
write-only, connection test, domains, delete with confirmation, tenant isolation. No JavaScript needed."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from federation.models import DomainClaim, IdentityProvider
from federation.selectors import identity_provider_callback_url

pytestmark = pytest.mark.django_db

SECRET = "upstream-secret-value"


def page(name, project, **kwargs):
    return reverse(f"portal:{name}", kwargs={"project_slug": project.slug, **kwargs})


def form_data(**overrides):
    data = {
        "kind": "okta",
        "name": "Acme Okta",
        "org_domain": "acme.okta.com",
        "client_id": "0oa1",
        "client_secret": SECRET,
        "scopes": "openid email profile",
        "pkce": "on",
        "match_by": "email",
        "is_active": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_create_then_detail_shows_callback_url_never_the_secret(admin_client, project):
    response = admin_client.post(page("idp_create", project), form_data())
    idp = IdentityProvider.objects.get(project=project)
    assert response.status_code == 302 and response["Location"] == page("idp", project, idp_id=idp.pk)
    detail = admin_client.get(response["Location"])
    html = detail.content.decode()
    assert detail.status_code == 200
    assert f'<code id="callback-url">{identity_provider_callback_url(idp)}</code>' in html
    assert 'data-copy-target="callback-url" hidden' in html  # shown by static/js/copy.js only
    assert re.search(r'<script src="[^"]*js/copy\.js"', html) and "<script>" not in html
    assert SECRET not in html and "stored (never shown)" in html
    assert "Register the callback URL" in html  # the flash message


def test_create_shows_field_errors(admin_client, project):
    response = admin_client.post(page("idp_create", project), form_data(kind="cognito", org_domain=""))
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in html and 'name="aws_region"' in html
    assert SECRET not in html  # the password field is not rendered back
    assert not IdentityProvider.objects.exists()


def test_edit_with_a_blank_secret_keeps_the_stored_one(admin_client, project, idp):
    response = admin_client.post(
        page("idp", project, idp_id=idp.pk), form_data(kind=None, name="Renamed", client_secret="")
    )
    assert response.status_code == 302
    idp.refresh_from_db()
    assert idp.name == "Renamed" and idp.client_secret == SECRET and idp.kind == "okta"


def test_edit_errors_stay_on_the_page(admin_client, project, idp):
    response = admin_client.post(page("idp", project, idp_id=idp.pk), form_data(org_domain="bad/path?x"))
    assert response.status_code == 400 and "domain only" in response.content.decode()


def test_list_searches_and_filters(admin_client, project, make_idp, actor):
    from federation.services import domain_claim_create

    domain_claim_create(identity_provider=make_idp(), actor=actor, domain="acme.example")
    make_idp(kind="google", name="Google", is_active=False)
    listing = admin_client.get(page("idps", project))
    html = listing.content.decode()
    assert "Acme Okta</a>" in html and "Google</a>" in html and "unverified" in html
    assert "Acme Okta</a>" not in admin_client.get(page("idps", project), {"kind": "google"}).content.decode()
    assert "Google</a>" not in admin_client.get(page("idps", project), {"status": "active"}).content.decode()
    found = admin_client.get(page("idps", project), {"q": "acme.example"}).content.decode()
    assert "Acme Okta</a>" in found and "Google</a>" not in found


def test_list_paginates(admin_client, project, make_idp, settings):
    settings.PORTAL_PAGE_SIZE = 2
    for n in range(3):
        make_idp(name=f"IdP {n}")
    html = admin_client.get(page("idps", project), {"page": 2}).content.decode()
    assert "IdP 2" in html and "IdP 0" not in html and "Page 2 of 2" in html


def test_connection_test_button(admin_client, project, make_idp, local_provider):
    idp = make_idp(kind="oidc", issuer=local_provider.base, name="Local")
    local_provider.serve_jwks(keys=[])
    response = admin_client.post(page("idp_test", project, idp_id=idp.pk))
    html = response.content.decode()
    assert response.status_code == 200 and "Connection test failed." in html and "publishes no keys" in html


def test_domains_claim_verify_remove(admin_client, project, idp, dns_zone):
    response = admin_client.post(
        page("idp_domain_create", project, idp_id=idp.pk), {"domain": "Acme.Example"}
    )
    assert response.status_code == 302
    claim = DomainClaim.objects.get()
    html = admin_client.get(response["Location"]).content.decode()
    assert "unverified" in html and claim.txt_record in html
    verify = page("idp_domain_verify", project, idp_id=idp.pk, domain_id=claim.pk)
    refused = admin_client.post(verify, follow=True).content.decode()
    assert "does not exist in DNS" in refused
    dns_zone["acme.example"] = [claim.txt_record]
    done = admin_client.post(verify, follow=True).content.decode()
    assert "acme.example is verified." in done
    admin_client.post(page("idp_domain_delete", project, idp_id=idp.pk, domain_id=claim.pk))
    assert not DomainClaim.objects.exists()


def test_a_refused_domain_shows_why_next_to_the_field(admin_client, project, idp):
    response = admin_client.post(page("idp_domain_create", project, idp_id=idp.pk), {"domain": "gmail.com"})
    assert response.status_code == 400 and "public mail service" in response.content.decode()


def test_delete_asks_then_deletes(admin_client, project, idp, actor):
    from federation.services import domain_claim_create

    domain_claim_create(identity_provider=idp, actor=actor, domain="acme.example")
    confirm = admin_client.get(page("idp_delete", project, idp_id=idp.pk))
    assert confirm.status_code == 200 and "acme.example" in confirm.content.decode()
    assert IdentityProvider.objects.exists()
    response = admin_client.post(page("idp_delete", project, idp_id=idp.pk))
    assert response.status_code == 302 and not IdentityProvider.objects.exists()


def test_another_projects_provider_is_a_404(admin_client, project, other_project, make_idp):
    foreign = make_idp(project=other_project, name="Theirs")
    for name in ("idp", "idp_delete"):
        assert admin_client.get(page(name, project, idp_id=foreign.pk)).status_code == 404
    assert admin_client.post(page("idp_test", project, idp_id=foreign.pk)).status_code == 404
    assert admin_client.post(page("idp_delete", project, idp_id=foreign.pk)).status_code == 404
    assert admin_client.get(page("idps", other_project)).status_code == 404
    assert IdentityProvider.objects.filter(pk=foreign.pk).exists()


def test_members_get_403(member_client, project, idp):
    assert member_client.get(page("idps", project)).status_code == 403
    assert member_client.get(page("idp", project, idp_id=idp.pk)).status_code == 403


def test_the_copy_script_is_served_as_a_static_file():
    from django.contrib.staticfiles import finders

    assert finders.find("js/copy.js")
