"""My account -> Sessions: the user's browser sessions, the apps that got tokens in each, and
ending them (the session's tokens are revoked and its apps told: accounts.signals.session_ended)."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from accounts.services.sessions import session_end, session_list, session_sid, sessions_end_all
from audit.context import Actor
from identity import flash
from identity.portal import ConfirmActionMixin, Confirmation
from oauth import selectors


def sessions_for(request: HttpRequest) -> list[dict]:
    sessions = session_list(user=request.user)
    sids = {s.pk: session_sid(s) for s in sessions}
    clients = selectors.session_client_names(sids=list(sids.values()))
    current_key = request.session.session_key
    return [
        {
            "id": sids[s.pk],
            "record": s,
            "current": s.session_key == current_key,
            "clients": clients.get(sids[s.pk], []),
        }
        for s in sessions
    ]


def session_by_sid(request: HttpRequest, sid: str):
    for record in session_list(user=request.user):
        if session_sid(record) == sid:
            return record
    raise Http404("No such session.")


class SessionsView(LoginRequiredMixin, View):
    template_name = "oauth/sessions.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"sessions": sessions_for(request)})

    def post(self, request: HttpRequest) -> HttpResponse:
        actor = Actor.from_request(request)
        if request.POST.get("end") == "others":
            count = sessions_end_all(
                user=request.user, actor=actor, reason="ended", keep_session_key=request.session.session_key
            )
            flash.flash(request, flash.SESSIONS_ENDED, count=count)
        else:
            record = session_by_sid(request, request.POST.get("session", ""))
            if record.session_key == request.session.session_key:
                return redirect("account_logout")  # this browser: the sign-out page
            session_end(user_session=record, actor=actor, reason="ended")
            flash.flash(request, flash.SESSION_ENDED)
        response = redirect("sessions")
        response.status_code = 303
        return response


class SessionEndView(ConfirmActionMixin, LoginRequiredMixin, View):
    """My account → Sessions → End: GET asks (which browser, what happens); POST ends it."""

    def confirmation(self, *, sid: str) -> Confirmation:
        record = session_by_sid(self.request, sid)
        if record.session_key == self.request.session.session_key:
            raise Http404("This browser: sign out instead.")
        clients = selectors.session_client_names(sids=[sid]).get(sid, [])
        consequences = ["That browser is signed out at its next request."]
        if clients:
            consequences.append(f"The tokens these apps got in it are revoked: {', '.join(clients)}.")
        return Confirmation(
            title="End this session?",
            affects=f"{record.user_agent or 'Unknown browser'} at {record.ip or 'an unknown address'}, "
            f"signed in {record.created_at:%Y-%m-%d %H:%M}, last seen {record.last_seen_at:%Y-%m-%d %H:%M}.",
            consequences=consequences,
            undo="You can sign in again in that browser with your password or passkey.",
            button="End session",
            cancel_url=reverse("sessions"),
        )

    def post(self, request: HttpRequest, sid: str) -> HttpResponse:
        record = session_by_sid(request, sid)
        if record.session_key == request.session.session_key:
            return redirect("account_logout")  # this browser: the sign-out page
        session_end(user_session=record, actor=Actor.from_request(request), reason="ended")
        flash.flash(request, flash.SESSION_ENDED)
        return redirect_see_other("sessions")


class SessionsEndOthersView(ConfirmActionMixin, LoginRequiredMixin, View):
    """My account → Sessions → End all other sessions: GET asks; POST ends every session but this one."""

    def confirmation(self) -> Confirmation:
        others = [s for s in sessions_for(self.request) if not s["current"]]
        return Confirmation(
            title="End all other sessions?",
            affects=f"{len(others)} other browser session(s) of yours; this browser stays signed in.",
            consequences=[
                "Those browsers are signed out at their next request.",
                "The tokens apps got in those sessions are revoked.",
            ],
            undo="You can sign in again in those browsers.",
            button="End all other sessions",
            cancel_url=reverse("sessions"),
        )

    def post(self, request: HttpRequest) -> HttpResponse:
        count = sessions_end_all(
            user=request.user,
            actor=Actor.from_request(request),
            reason="ended",
            keep_session_key=request.session.session_key,
        )
        flash.flash(request, flash.SESSIONS_ENDED, count=count)
        return redirect_see_other("sessions")


def redirect_see_other(url_name: str) -> HttpResponse:
    response = redirect(url_name)
    response.status_code = 303
    return response
