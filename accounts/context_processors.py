from accounts.app_settings import app_settings


def portal(request):
    """The current project (set by the portal views) and whether sign-up is open, for every template."""
    return {
        "current_project": getattr(request, "portal_project", None),
        "signup_open": app_settings.SIGNUP_OPEN,
    }
