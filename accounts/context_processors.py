from accounts.app_settings import app_settings


def portal(request):
    """The current project (set by the portal views) and whether sign-up is open, for every template."""
    from accounts.views_mfa import ENROLMENT_NEXT_KEY, ENROLMENT_REQUIRED_KEY

    session = getattr(request, "session", None)
    return {
        "current_project": getattr(request, "portal_project", None),
        "signup_open": app_settings.SIGNUP_OPEN,
        # After a required enrolment: a way back to the app the person was signing in to.
        "mfa_enrolment_pending_return": bool(
            session is not None
            and session.get(ENROLMENT_NEXT_KEY)
            and not session.get(ENROLMENT_REQUIRED_KEY)
        ),
    }
