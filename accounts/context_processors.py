def portal(request):
    """Expose the current project (set by the portal views) to every template."""
    return {"current_project": getattr(request, "portal_project", None)}
