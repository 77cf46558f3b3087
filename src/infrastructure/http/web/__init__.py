"""The browser dashboard: static files served by the app, and ``/api/me``."""
