"""The shop database: SQLAlchemy models, engine and sessions, conversations and their
messages, and the schema migrations (Alembic)."""
