"""My account -> Sessions: the user's browser sessions, the apps that got tokens in each, and
ending them (the session's tokens are revoked and its apps told: accounts.signals.session_ended)."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views import View

from accounts.services.sessions import session_end, session_list, session_sid, sessions_end_all
from audit.context import Actor
from identity import flash
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
