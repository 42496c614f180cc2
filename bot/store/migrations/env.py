"""Alembic's entry point: migrations run on the connection bot/store/migrate.py hands in."""

from alembic import context

from bot.store.models import Base


def _ours(obj, name, type_, reflected, compare_to) -> bool:
    """Only the shop's tables: Rasa's tracker store shares the SQLite file (endpoints.yml)."""
    return type_ != "table" or name in Base.metadata.tables


context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=Base.metadata,
    include_object=_ours,
    render_as_batch=True,  # SQLite alters a table by copying it
)
with context.begin_transaction():
    context.run_migrations()
