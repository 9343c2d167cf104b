"""Onboarding rules: identity check and lockout (``identity``), consent (``consent``), linking accounts and the
phone check (``linking``), aid receipt (``aid``), and what the TKSK is told (``notices``)."""
