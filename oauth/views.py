"""OAuth 2.0 / OpenID Connect endpoints. The protocol is DOT's + oauthlib's; these views add
our pages (consent), policy (who may use which client), discovery and CORS."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider import views as dot_views
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.signals import app_authorized

from identity import flash
from identity.clock import clock
from identity.portal import ConfirmActionMixin, Confirmation
from oauth import errors, forms, selectors, services
from oauth.app_settings import app_settings
from oauth.authn_context import Acr, acr_values_want_mfa, amr_of_records
from oauth.constants import ASSERTION_SIGNING_ALGORITHMS, GrantType, SigningAlgorithm, TokenEndpointAuthMethod
from oauth.errors import with_description
from oauth.granting import scopes_grant
from oauth.keys import jwks
from oauth.launch import LaunchError, launch_context_consume, launch_context_find, standalone_patients
from oauth.models import AccessToken, Client
from oauth.rules import user_may_use_client
from oauth.scopes import NAMED_SCOPES, scope_describe
from oauth.tokens import token_checksum


def cors(view):
    """Allow cross-origin calls (token, userinfo, discovery, JWKS; never authorize).

    These endpoints authenticate with headers or form fields, never cookies, so any
    origin may call them (RFC 9700 §2.6 permits CORS here and forbids it on /authorize).
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
        else:
            response = view(request, *args, **kwargs)
        response["Access-Control-Allow-Origin"] = "*"
        response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        response["Access-Control-Max-Age"] = "86400"
        return response

    return wrapper


def session_id_hash(request) -> str:
    """The OIDC `sid` of the user's browser session at this OP: that of its session record
    (accounts/services/sessions.py), the same one logout and back-channel logout name."""
    from accounts.services.sessions import session_current, session_sid

    record = session_current(request)
    return session_sid(record) if record is not None else ""


def auth_time_of(request):
    """When the signed-in user last authenticated in this session (sign-in or re-authentication)."""
    import datetime

    # allauth 65.22.1: the public re-export (allauth.account.authentication) of
    # internal.flows.login.get_authentication_records; tests/oauth/test_library_seams.py
    # checks that records still carry `at` after a sign-in and a re-authentication.
    from allauth.account.authentication import get_authentication_records

    times = [
        record.get("at") for record in get_authentication_records(request, request.user) if record.get("at")
    ]
    if times:
        return datetime.datetime.fromtimestamp(max(times), tz=datetime.UTC)
    return request.user.last_login or clock.now()


def audience_problem(request, project) -> str:
    """SMART: a project with a FHIR server requires `aud` (or its synonym `resource`) to name it,
    so a token meant for one FHIR server is never obtained for another. "" when fine."""
    if not project.fhir_base_url:
        return ""
    audience = (request.GET.get("aud") or request.GET.get("resource") or "").strip().rstrip("/")
    if not audience:
        return f"aud is required: the FHIR server's base URL, {project.fhir_base_url}."
    if audience != project.fhir_base_url:
        return f"aud {audience} is not this project's FHIR server ({project.fhir_base_url})."
    return ""


def sign_in_acceptable_for(request, project) -> bool:
    """The session's way of signing in satisfies the client's project (federation's rule)."""
    from allauth.account.authentication import get_authentication_records

    from federation.selectors import sign_in_acceptable

    records = get_authentication_records(request, request.user)
    return sign_in_acceptable(project=project, user=request.user, records=records)


def authentication_methods_of(request) -> tuple[list[str], str]:
    """How the signed-in user authenticated in this session: the ID token's `amr` (RFC 8176
    values, plus `fed` for a federated sign-in; oauth/authn_context.py) and `idp`, the issuer of the upstream provider
    they came through ("" for none). From allauth's authentication records (see auth_time_of)."""
    from allauth.account.authentication import get_authentication_records

    from federation.selectors import identity_provider_by_provider_id

    records = get_authentication_records(request, request.user)
    idp = ""
    for record in records:
        if record.get("method") == "socialaccount":
            provider = identity_provider_by_provider_id(str(record.get("provider") or ""))
            idp = provider.issuer if provider else ""
    return amr_of_records(records), idp


def _absolute(name: str) -> str:
    return f"{app_settings.ISSUER}{reverse(name)}"


CONFIDENTIAL_AUTH_METHODS = [m for m in TokenEndpointAuthMethod.values if m != TokenEndpointAuthMethod.NONE]


def discovery_document() -> dict:
    return {
        "issuer": app_settings.ISSUER,
        "authorization_endpoint": _absolute("oauth:authorize"),
        "token_endpoint": _absolute("oauth:token"),
        "userinfo_endpoint": _absolute("oauth:userinfo"),
        "jwks_uri": _absolute("oauth:jwks"),
        "introspection_endpoint": _absolute("oauth:introspect"),
        "revocation_endpoint": _absolute("oauth:revoke"),
        "end_session_endpoint": _absolute("oauth:logout"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GrantType.values),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(SigningAlgorithm.values),
        "token_endpoint_auth_methods_supported": list(TokenEndpointAuthMethod.values),
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_SIGNING_ALGORITHMS),
        # Introspection is for confidential clients; revocation also takes public ones (client_id).
        "introspection_endpoint_auth_methods_supported": CONFIDENTIAL_AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": list(TokenEndpointAuthMethod.values),
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": list(NAMED_SCOPES),
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "amr",
            "acr",
            "idp",
            "fhirUser",
            "nonce",
            "at_hash",
            "sid",
            "name",
            "given_name",
            "family_name",
            "email",
            "email_verified",
        ],
        "prompt_values_supported": ["none", "login", "consent"],
        "acr_values_supported": list(Acr.values),
        "authorization_response_iss_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "claims_parameter_supported": False,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
    }


# SMART App Launch 2 capabilities this server really has (tests/oauth/test_smart_configuration.py).
SMART_CAPABILITIES = [
    "launch-ehr",
    "launch-standalone",
    "authorize-post",
    "client-public",
    "client-confidential-symmetric",
    "client-confidential-asymmetric",
    "sso-openid-connect",
    "context-banner",
    "context-style",
    "context-ehr-patient",
    "context-ehr-encounter",
    "context-standalone-patient",
    "permission-offline",
    "permission-patient",
    "permission-user",
    "permission-v1",
    "permission-v2",
]
SMART_SCOPES_SUPPORTED = [
    # online_access has no behaviour of its own here (refresh tokens come with offline_access),
    # so it is not advertised.
    *(s for s in NAMED_SCOPES if s != "online_access"),
    "patient/*.rs",
    "patient/*.cruds",
    "user/*.rs",
    "user/*.cruds",
    "system/*.rs",
    "system/*.cruds",
]


def smart_configuration_document() -> dict:
    """`/.well-known/smart-configuration` (SMART App Launch 2 §Conformance): every required
    field, the recommended ones we support, absolute URLs."""
    oidc = discovery_document()
    return {
        "issuer": oidc["issuer"],
        "jwks_uri": oidc["jwks_uri"],
        "authorization_endpoint": oidc["authorization_endpoint"],
        "token_endpoint": oidc["token_endpoint"],
        "grant_types_supported": oidc["grant_types_supported"],
        "token_endpoint_auth_methods_supported": oidc["token_endpoint_auth_methods_supported"],
        "token_endpoint_auth_signing_alg_values_supported": oidc[
            "token_endpoint_auth_signing_alg_values_supported"
        ],
        "scopes_supported": SMART_SCOPES_SUPPORTED,
        "response_types_supported": ["code"],
        "introspection_endpoint": oidc["introspection_endpoint"],
        "revocation_endpoint": oidc["revocation_endpoint"],
        "code_challenge_methods_supported": ["S256"],
        "capabilities": SMART_CAPABILITIES,
    }


SMART_STYLE = {
    "color_background": "#f6f7f9",
    "color_error": "#b3261e",
    "color_highlight": "#1f5fbf",
    "color_modal_backdrop": "",
    "color_success": "#1e7d32",
    "color_text": "#1b1f24",
    "dim_border_radius": "6px",
    "dim_font_size": "16px",
    "dim_spacing_size": "16px",
    "font_family_body": "system-ui, sans-serif",
    "font_family_heading": "system-ui, sans-serif",
}


@cors
def smart_style(request: HttpRequest) -> JsonResponse:
    """The `smart_style_url` of token responses: the portal's colours for embedded apps."""
    response = JsonResponse(SMART_STYLE)
    response["Cache-Control"] = "public, max-age=3600"
    return response


@cors
@never_cache
def smart_configuration(request: HttpRequest) -> JsonResponse:
    # application/json whatever the Accept header (SMART: SHALL).
    return JsonResponse(smart_configuration_document())


@cors
@never_cache
def openid_configuration(request: HttpRequest) -> JsonResponse:
    return JsonResponse(discovery_document())


@cors
@never_cache
def authorization_server_metadata(request: HttpRequest) -> JsonResponse:
    document = discovery_document()
    document.pop("userinfo_endpoint", None)
    return JsonResponse(document)


@cors
def jwks_view(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(jwks())
    response["Cache-Control"] = "public, max-age=300"
    return response


@method_decorator([csrf_exempt, never_cache], name="dispatch")
class AuthorizeView(dot_views.AuthorizationView):
    """The authorization endpoint (GET and POST) with our consent page and policy.

    An unknown client or a redirect URI that does not match exactly gets an error page
    from DOT and is never redirected to. After the user is known: an inactive member,
    or an account whose email is not verified, gets `access_denied` at the client.
    """

    template_name = "oauth/authorize.html"

    def dispatch(self, request, *args, **kwargs):
        if request.method == "POST" and "consent" not in request.POST:
            # An authorization request sent by POST (OIDC Core §3.1.2.1). 303 to the same request
            # as GET: one code path, and a sign-in detour keeps the parameters in `next`.
            response = redirect(f"{request.path}?{urlencode(request.POST)}")
            response.status_code = 303
            return response
        if request.method == "POST":
            # Our consent form: the view is csrf_exempt for POSTed authorization requests,
            # so the consent submission is CSRF-checked here.
            reason = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
            if reason is not None:
                return reason
        return super().dispatch(request, *args, **kwargs)

    def create_authorization_response(self, request, scopes, credentials, allow):
        # oauthlib copies credentials onto its request: the grant records the session (`sid`)
        # and when the user last authenticated (`auth_time`).
        if allow:
            client = self._client(credentials["client_id"])
            try:
                launch_context = self._launch_context(request, client, str(scopes).split())
            except errors.OAuthError as error:
                url = error.redirect_url(
                    credentials["redirect_uri"], state=credentials.get("state"), issuer=app_settings.ISSUER
                )
                return url, {}, None, 302
            credentials = {**credentials, "launch_context": launch_context}
        amr, idp = authentication_methods_of(request)
        credentials = {
            **credentials,
            "sid": session_id_hash(request),
            "auth_time": auth_time_of(request).isoformat(),
            "amr": amr,
            "idp": idp,
        }
        return super().create_authorization_response(request, scopes, credentials, allow)

    def _launch_precheck(self, request, client, scopes) -> list[str]:
        """Before consent: an EHR launch's `launch` must be usable; a standalone launch/patient
        needs at least one patient. Returns the patients to choose from (standalone)."""
        if "launch" in scopes:
            if not request.GET.get("launch"):
                raise errors.InvalidRequest("The launch scope needs the launch parameter (EHR launch).")
            try:
                launch_context_find(project=client.project, launch=request.GET["launch"])
            except LaunchError as error:
                raise errors.InvalidRequest(str(error)) from None
            return []
        if "launch/patient" in scopes:
            patients = standalone_patients(user=request.user, project=client.project)
            if not patients:
                raise errors.InvalidScope(
                    "launch/patient: no patient is available to this account (no Patient profile, "
                    "no patient in its access parameters)."
                )
            return patients
        return []

    def _launch_context(self, request, client, scopes: list[str]) -> dict:
        """The context the code will carry; an EHR launch is used up here (single use)."""
        if "launch" in scopes:
            launch = (
                request.POST.get("launch") if request.method == "POST" else request.GET.get("launch")
            ) or ""
            try:
                context = launch_context_consume(project=client.project, launch=launch)
            except LaunchError as error:
                raise errors.InvalidRequest(str(error)) from None
            if not context.patient and any(s.startswith("patient/") for s in scopes):
                raise errors.InvalidRequest(
                    "This launch names no patient, so patient/ scopes cannot be granted."
                )
            found = {"patient": context.patient, "encounter": context.encounter}
            return {**{k: v for k, v in found.items() if v}, "need_patient_banner": False}
        if "launch/patient" in scopes:
            patients = standalone_patients(user=request.user, project=client.project)
            chosen = request.POST.get("patient") or (patients[0] if len(patients) == 1 else "")
            if chosen not in patients:
                raise errors.InvalidRequest("Choose the patient to work with.")
            return {"patient": chosen, "need_patient_banner": True}
        return {}

    def _needs_fresh_login(self, request) -> bool:
        """prompt=login, or max_age exceeded since the user last authenticated (OIDC Core §3.1.2.1)."""
        if "login" in set(request.GET.get("prompt", "").split()):
            return True
        max_age = request.GET.get("max_age", "")
        if max_age.isdigit():
            return (clock.now() - auth_time_of(request)).total_seconds() > int(max_age)
        return False

    def _needs_second_factor(self, request, client) -> bool:
        """The client's project requires two factors (mfa_required), or the client asked for
        them (`acr_values`), and this session used only one."""
        wanted = client.project.mfa_required or acr_values_want_mfa(request.GET.get("acr_values", ""))
        return wanted and "mfa" not in authentication_methods_of(request)[0]

    def _second_factor_step(self, request):
        """Step up, then come back: a person with a second factor proves it now (allauth's
        reauthentication with it); one without is asked to set one up first."""
        from accounts.selectors import user_factor_count

        next_url = request.get_full_path()
        name = "mfa_reauthenticate" if user_factor_count(user=request.user) else "mfa_enrolment_required"
        return redirect(f"{reverse(name)}?{urlencode({'next': next_url})}")

    def _reauthenticate(self, request):
        """Ask for the password again, then come back without prompt=login.

        The session is kept: a page elsewhere that sends the user here with prompt=login
        can make them type their password, never sign them out.
        """
        query = request.GET.copy()
        query.pop("prompt", None)
        next_url = f"{request.path}?{query.urlencode()}"
        return redirect(f"{reverse('account_reauthenticate')}?{urlencode({'next': next_url})}")

    scope_grant = None
    form_class = forms.AuthorizeForm

    def get_initial(self):
        # The EHR launch travels with the consent form (it is used up when the code is issued).
        return {**super().get_initial(), "launch": self.request.GET.get("launch", "")}

    def _client(self, client_id) -> Client | None:
        """The request's client (with its project), read from the database once per request."""
        cached = self.__dict__.get("_client_row")
        if cached is None or cached.client_id != client_id:
            cached = Client.objects.select_related("project").filter(client_id=client_id).first()
            self._client_row = cached
        return cached

    def validate_authorization_request(self, request):
        """DOT's validation (which narrows to what the client may ask for), then, once the user
        is known, narrowed to their access policy: the consent page, the hidden form and the
        code all carry what will really be granted (oauth/granting.py)."""
        scopes, credentials = super().validate_authorization_request(request)
        self.scope_grant = None
        if request.user.is_authenticated:
            client = self._client(credentials.get("client_id"))
            if client is not None:
                self.scope_grant = scopes_grant(
                    client=client,
                    requested=scopes,
                    grant_type=GrantType.AUTHORIZATION_CODE,
                    user=request.user,
                )
                scopes = self.scope_grant.granted
        return scopes, credentials

    def get(self, request, *args, **kwargs):
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:  # DOT renders an error page; never redirects for a bad client/URI
            return self.error_response(error, application=None)
        client = self._client(credentials["client_id"]) or Client.objects.get(
            client_id=credentials["client_id"]
        )
        for parameter, error in (
            ("request", errors.RequestNotSupported),
            ("request_uri", errors.RequestUriNotSupported),
        ):
            if parameter in request.GET:  # request objects (OIDC Core §6) are not supported: say so
                return self._deny(credentials, client, error())
        if self._needs_fresh_login(request):
            if "none" in set(request.GET.get("prompt", "").split()):
                return self._deny(credentials, client, errors.LoginRequired())
            return self._reauthenticate(request)
        if self._needs_second_factor(request, client):
            if "none" in set(request.GET.get("prompt", "").split()):
                return self._deny(credentials, client, errors.InteractionRequired())
            return self._second_factor_step(request)
        if (refusal := self._session_refusal(request, client)) is not None:
            return self._deny(credentials, client, refusal)
        if problem := audience_problem(request, client.project):
            return self._deny(credentials, client, errors.InvalidRequest(problem))
        if self.scope_grant is not None and self.scope_grant.refusal:
            return self._deny(credentials, client, errors.InvalidScope(self.scope_grant.refusal))
        try:
            patients = self._launch_precheck(request, client, scopes)
        except errors.OAuthError as error:
            return self._deny(credentials, client, error)
        prompt = set(request.GET.get("prompt", "").split())
        if len(patients) > 1:
            prompt.add("consent")  # the person picks the patient on the consent page
        if "consent" not in prompt and (
            # What DOT's get() does for such a client after validating the request a second time
            # (and reading the client again); it also takes RFC 8707 `resource`, so that stays its.
            (client.skip_authorization and "resource" not in request.GET)
            or selectors.consent_covers(user=request.user, client=client, scopes=scopes)
        ):
            return self._approve(scopes, credentials, client)
        if "none" in prompt and not client.skip_authorization:
            return self._deny(credentials, client, errors.ConsentRequired())
        return super().get(request, *args, **kwargs)

    def _approve(self, scopes, credentials, client):
        try:
            uri, headers, body, status = self.create_authorization_response(
                request=self.request, scopes=" ".join(scopes), credentials=credentials, allow=True
            )
        except OAuthToolkitError as error:  # as DOT's get() answers it
            return self.error_response(error, client)
        return self.redirect(uri, client)

    def _deny(self, credentials, client, error: errors.OAuthError):
        """Send `error` to the client's (already validated) redirect URI, with state and iss."""
        url = error.redirect_url(
            credentials["redirect_uri"], state=credentials.get("state"), issuer=app_settings.ISSUER
        )
        return self.redirect(url, client)

    def _session_refusal(self, request, client) -> errors.OAuthError | None:
        """The rules the signed-in session must meet for this client, asked on the GET and again
        on the consent POST (which a person could send without the GET)."""
        if client.project.mfa_required and "mfa" not in authentication_methods_of(request)[0]:
            return errors.InteractionRequired()
        if not user_may_use_client(request.user, client):
            return errors.AccountNotAllowed()
        if not sign_in_acceptable_for(request, client.project):
            return errors.SignInMethodNotAccepted()
        return None

    def form_valid(self, form):
        client = (
            Client.objects.select_related("project")
            .filter(client_id=form.cleaned_data.get("client_id"))
            .first()
        )
        refusal = self._session_refusal(self.request, client) if client is not None else None
        if refusal is not None and form.cleaned_data.get("allow"):
            credentials = {
                "redirect_uri": form.cleaned_data.get("redirect_uri"),
                "state": form.cleaned_data.get("state"),
            }
            if client.redirect_uri_allowed(credentials["redirect_uri"] or ""):
                return self._deny(credentials, client, refusal)
            return HttpResponse(refusal.description, status=403)
        response = super().form_valid(form)
        location = response.get("Location", "")
        if form.cleaned_data.get("allow") and response.status_code in (302, 303) and "error=" not in location:
            client = Client.objects.get(client_id=form.cleaned_data["client_id"])
            # Remember what was granted, not what the (editable) form posted.
            granted = scopes_grant(
                client=client,
                requested=form.cleaned_data["scope"].split(),
                grant_type=GrantType.AUTHORIZATION_CODE,
                user=self.request.user,
            ).granted
            services.consent_record(user=self.request.user, client=client, scopes=granted)
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["scope_list"] = [(s, scope_describe(s)) for s in context.get("scopes", [])]
        context["scope_changes"] = self.scope_grant.changed if self.scope_grant is not None else []
        scopes = context.get("scopes", [])
        context["patients"] = (
            standalone_patients(user=self.request.user, project=context["application"].project)
            if "launch/patient" in scopes and "launch" not in scopes and context.get("application")
            else []
        )
        return context


@method_decorator(
    [
        csrf_exempt,
        sensitive_post_parameters(
            "client_secret", "client_assertion", "code", "code_verifier", "refresh_token"
        ),
    ],
    name="dispatch",
)
class TokenView(dot_views.TokenView):
    def post(self, request, *args, **kwargs):
        from oauth.client_credentials import client_credentials_response

        # First, from the raw body: a plain, valid client-credentials request gets the same answer
        # without oauthlib's machinery (nor the form parsing below).
        if (lean := client_credentials_response(request)) is not None:
            return lean
        if request.POST.get("grant_type") not in GrantType.values:
            # DOT routes the device grant itself; we offer none but these three.
            return errors.UnsupportedGrantType().response()
        return with_description(request, super().post(request, *args, **kwargs))

    def authorization_flow_token_response(self, request, *args, **kwargs):
        """DOT's, minus its re-read of the token just issued when nobody listens to
        `app_authorized` (DOT reads the row back only to send that signal; nothing of ours
        receives it): one SQL statement less on every grant. A receiver connected later gets
        DOT's behaviour back unchanged."""
        if app_authorized.has_listeners(type(self)):
            return super().authorization_flow_token_response(request, *args, **kwargs)
        _url, headers, body, status = self.create_token_response(request)
        response = HttpResponse(content=body, status=status)
        for name, value in headers.items():
            response[name] = value
        return response


token_view = cors(TokenView.as_view())


class UserInfoView(dot_views.UserInfoView):
    """Claims about the signed-in user (GET, POST header, POST body). Client-credentials tokens
    have no user and get 401; a token in the query string is refused (RFC 9700 §4.3.2)."""

    # DOT-private (3.4.1): DOT's get() and post() both answer through this method; overriding it
    # keeps one check for every transport. tests/oauth/test_library_seams.py pins its signature.
    def _create_userinfo_response(self, request):
        if "access_token" in request.GET:
            return errors.BearerInvalidRequest(
                "Send the access token in the Authorization header or the POST body."
            ).response()
        token = _presented_token(request)
        access = (
            AccessToken.objects.select_related("user").filter(token_checksum=token_checksum(token)).first()
            if token
            else None
        )
        if access is not None and access.user_id is None:
            return errors.InvalidToken("This token was not issued to a user.").response()
        return super()._create_userinfo_response(request)


def _presented_token(request) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header.startswith("Bearer "):
        return header[7:].strip()
    return request.POST.get("access_token", "") if request.method == "POST" else ""


userinfo_view = cors(csrf_exempt(UserInfoView.as_view()))


@method_decorator([csrf_exempt, sensitive_post_parameters("client_secret", "token")], name="dispatch")
class RevokeView(dot_views.RevokeTokenView):
    def post(self, request, *args, **kwargs):
        return with_description(request, super().post(request, *args, **kwargs))


@method_decorator([csrf_exempt, sensitive_post_parameters("client_secret", "token")], name="dispatch")
class IntrospectView(View):
    """RFC 7662: the caller authenticates (basic or post) and learns only about its project's tokens."""

    def post(self, request: HttpRequest) -> HttpResponse:
        from oauth.introspection import client_authenticate, token_introspect

        client = client_authenticate(request)
        if client is None:
            return errors.InvalidClient().response()
        if "token" not in request.POST:
            return errors.InvalidRequest("The token parameter is missing.").response()
        claims = token_introspect(
            token=request.POST["token"], caller=client, hint=request.POST.get("token_type_hint", "")
        )
        response = JsonResponse({"active": True, **claims} if claims else {"active": False})
        # As the token endpoint's answers (RFC 6749 §5.1): never stored. Set here rather than by
        # never_cache, whose header parsing cost ~5% of an introspection's CPU.
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response


class ConnectedAppsView(LoginRequiredMixin, View):
    """My account → Connected apps: clients holding grants for me, each revocable."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(
            request, "oauth/connected_apps.html", {"apps": selectors.connected_apps(user=request.user)}
        )

    def post(self, request: HttpRequest) -> HttpResponse:
        client = selectors.connected_app_get(user=request.user, client_id=request.POST.get("client_id", ""))
        services.connected_app_revoke(user=request.user, client=client)
        flash.flash(request, flash.CONNECTED_APP_REVOKED, name=client.name)
        response = redirect("connected_apps")
        response.status_code = 303
        return response


class ConnectedAppRemoveView(ConfirmActionMixin, LoginRequiredMixin, View):
    """My account → Connected apps → Remove access: GET asks (what the app loses); POST removes."""

    def confirmation(self, *, client_id: str) -> Confirmation:
        app = next(
            (
                a
                for a in selectors.connected_apps(user=self.request.user)
                if a["client"].client_id == client_id
            ),
            None,
        )
        if app is None:
            raise Http404("No such connected app.")
        client = app["client"]
        allowed = f" It may now: {', '.join(str(s) for s in app['scopes'])}." if app["scopes"] else ""
        return Confirmation(
            title=f"Remove {client.name}'s access?",
            affects=f"{client.name} ({client.project.brand_name}) and your account.{allowed}",
            consequences=[
                f"Every token {client.name} holds for you is revoked at once: it can no longer act for you.",
                "Your consent is forgotten.",
            ],
            undo=f"If you sign in to {client.name} again, it asks for your consent again.",
            button="Remove access",
            cancel_url=reverse("connected_apps"),
        )

    def post(self, request: HttpRequest, client_id: str) -> HttpResponse:
        client = selectors.connected_app_get(user=request.user, client_id=client_id)
        services.connected_app_revoke(user=request.user, client=client)
        flash.flash(request, flash.CONNECTED_APP_REVOKED, name=client.name)
        response = redirect("connected_apps")
        response.status_code = 303
        return response
