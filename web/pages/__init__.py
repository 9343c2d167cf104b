"""Desk pages, one module per area."""
