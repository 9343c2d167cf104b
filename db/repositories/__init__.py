"""Repositories: small typed query functions over the models, one module per aggregate.

Services use these instead of writing the same ``select`` twice. Each module is independent; import the
module you need (``from db.repositories import regions``).
"""
