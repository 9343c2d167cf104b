"""Persistence: typed SQLAlchemy 2 models, the session factory, Alembic migrations, repositories, FSM storage."""
