"""Protecting customers and the system: API keys and scopes now; consent, access and
erasure requests and retention as their issues land."""
