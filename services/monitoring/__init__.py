"""Monitoring in the field: recipient cards, visits, the visit plan, the risk score and their reports."""
