"""Multi-step sign-in journeys of the federation app."""
