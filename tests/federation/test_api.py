"""/api/v1/projects/{id}/identity-providers/: CRUD, secret write-only, domains, test, isolation, schema."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from federation.models import DomainClaim, IdentityProvider

pytestmark = pytest.mark.django_db

SECRET = "upstream-secret-value"


@pytest.fixture
def api(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def url(project, idp=None, suffix=""):
    base = f"/api/v1/projects/{project.pk}/identity-providers/"
    return f"{base}{idp.pk}/{suffix}" if idp is not None else base


def test_create_returns_callback_url_and_never_the_secret(api, project, settings):
    settings.APP_BASE_URL = "https://id.example.com"
    response = api.post(
        url(project),
        {
            "kind": "auth0",
            "name": "Acme",
            "org_domain": "acme.eu.auth0.com",
            "client_id": "abc",
            "client_secret": SECRET,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    idp = IdentityProvider.objects.get(pk=body["id"])
    assert body["callback_url"] == f"https://id.example.com/accounts/oidc/{idp.provider_id}/login/callback/"
    assert body["issuer"] == "https://acme.eu.auth0.com/"
    assert body["scopes"] == ["openid", "email", "profile"] and body["pkce"] is True
    assert body["has_client_secret"] is True and body["domains"] == []
    assert "client_secret" not in body and SECRET not in response.content.decode()
    assert AuditEvent.objects.filter(action="identity_provider.created", project=project).exists()


def test_list_filters_and_never_shows_secrets(api, project, make_idp):
    make_idp()
    make_idp(kind="google", name="Google")
    response = api.get(url(project), {"kind": "google"})
    assert response.status_code == 200
    assert [r["name"] for r in response.json()["results"]] == ["Google"]
    everything = api.get(url(project))
    assert everything.json()["count"] == 2 and SECRET not in everything.content.decode()
    assert api.get(url(project), {"q": "acme"}).json()["count"] == 1
    assert api.get(url(project), {"status": "disabled"}).json()["count"] == 0


def test_validation_errors_have_fields(api, project):
    response = api.post(url(project), {"kind": "oidc", "name": "X", "client_id": "c"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert set(error["fields"]) == {"issuer", "client_secret"}
    bad_kind = api.post(url(project), {"kind": "saml", "name": "X", "client_id": "c"}, format="json")
    assert "kind" in bad_kind.json()["error"]["fields"]


def test_patch_changes_only_what_is_sent_and_keeps_the_secret(api, project, idp):
    response = api.patch(url(project, idp), {"required": True, "scopes": ["openid", "email"]}, format="json")
    assert response.status_code == 200, response.json()
    idp.refresh_from_db()
    assert idp.required and idp.scopes == "openid email" and idp.name == "Acme Okta"
    assert idp.client_secret == SECRET
    api.patch(url(project, idp), {"client_secret": "new-secret"}, format="json")
    idp.refresh_from_db()
    assert idp.client_secret == "new-secret"
    refused = api.patch(url(project, idp), {"kind": "google"}, format="json")
    assert refused.status_code == 400 and "kind" in refused.json()["error"]["fields"]


def test_delete(api, project, idp):
    assert api.delete(url(project, idp)).status_code == 204
    assert not IdentityProvider.objects.exists()


def test_another_projects_provider_is_a_404(api, other_project, make_idp, project):
    foreign = make_idp(project=other_project, name="Theirs")
    assert api.get(url(project, foreign)).status_code == 404
    assert api.patch(url(project, foreign), {"name": "Mine"}, format="json").status_code == 404
    assert api.delete(url(project, foreign)).status_code == 404
    assert api.post(url(project, foreign, "test/")).status_code == 404
    assert api.post(url(project, foreign, "domains/"), {"domain": "x.example"}).status_code == 404
    assert api.get(url(other_project)).status_code == 404
    assert IdentityProvider.objects.get(pk=foreign.pk).name == "Theirs"


def test_members_are_refused(member_membership, project, idp):
    client = APIClient()
    client.force_authenticate(member_membership.user)
    assert client.get(url(project)).status_code == 403
    assert client.get(url(project, idp)).status_code == 403


def test_domains_claim_verify_delete(api, project, idp, dns_zone):
    claimed = api.post(url(project, idp, "domains/"), {"domain": "Acme.Example"}, format="json")
    assert claimed.status_code == 201
    claim = claimed.json()
    assert claim["domain"] == "acme.example" and claim["verified"] is False
    assert claim["txt_record_value"].startswith("identity-portal-verification=")
    listed = api.get(url(project, idp)).json()["domains"]
    assert [d["domain"] for d in listed] == ["acme.example"]

    verify = url(project, idp, f"domains/{claim['id']}/verify/")
    not_yet = api.post(verify)
    assert not_yet.status_code == 400 and not_yet.json()["error"]["code"] == "domain_not_verified"
    assert "does not exist in DNS" in not_yet.json()["error"]["message"]
    dns_zone["acme.example"] = [claim["txt_record_value"]]
    done = api.post(verify)
    assert done.status_code == 200 and done.json()["verified"] is True
    assert done.json()["verification_method"] == "dns"

    assert api.delete(url(project, idp, f"domains/{claim['id']}/")).status_code == 204
    assert not DomainClaim.objects.exists()


def test_claiming_a_consumer_domain_is_refused(api, project, idp):
    response = api.post(url(project, idp, "domains/"), {"domain": "gmail.com"}, format="json")
    assert response.status_code == 400
    assert "public mail service" in response.json()["error"]["fields"]["domain"][0]


def test_a_domain_verified_elsewhere_is_a_conflict(api, project, idp, make_idp, other_project, actor):
    from federation.services import domain_claim_create, domain_claim_verify_by_operator

    theirs = make_idp(project=other_project, name="Theirs")
    domain_claim_verify_by_operator(
        claim=domain_claim_create(identity_provider=theirs, actor=actor, domain="acme.example"), actor=actor
    )
    response = api.post(url(project, idp, "domains/"), {"domain": "acme.example"}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "conflict"


def test_a_domain_of_another_provider_is_a_404(api, project, idp, make_idp, actor):
    from federation.services import domain_claim_create

    other = make_idp(name="Second")
    claim = domain_claim_create(identity_provider=other, actor=actor, domain="acme.example")
    assert api.post(url(project, idp, f"domains/{claim.pk}/verify/")).status_code == 404
    assert api.delete(url(project, idp, f"domains/{claim.pk}/")).status_code == 404


def test_connection_test_endpoint(api, project, make_idp, local_provider):
    idp = make_idp(kind="oidc", issuer=local_provider.base, name="Local")
    ok = api.post(url(project, idp, "test/"))
    assert ok.status_code == 200 and ok.json()["ok"] is True
    local_provider.serve_discovery(issuer="https://other.example")
    failed = api.post(url(project, idp, "test/")).json()
    assert failed["ok"] is False and "must match exactly" in failed["message"]


def test_the_schema_documents_the_endpoints():
    response = APIClient().get("/api/schema/", {"format": "json"})
    paths = response.json()["paths"]
    base = "/api/v1/projects/{project_id}/identity-providers/"
    assert {"get", "post"} <= set(paths[base])
    assert {"get", "patch", "delete"} <= set(paths[base + "{idp_id}/"])
    assert "post" in paths[base + "{idp_id}/test/"]
    assert "post" in paths[base + "{idp_id}/domains/"]
    assert "post" in paths[base + "{idp_id}/domains/{domain_id}/verify/"]
    assert "delete" in paths[base + "{idp_id}/domains/{domain_id}/"]
    schemas = response.json()["components"]["schemas"]
    assert "client_secret" not in schemas["IdentityProviderOutput"]["properties"]
    assert "client_secret" in schemas["IdentityProviderInputRequest"]["properties"]
