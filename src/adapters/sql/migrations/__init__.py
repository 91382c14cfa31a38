"""Alembic migrations of the records (see env.py)."""
