"""Alembic's entry point: migrations run on the connection bot/store/migrate.py hands in."""

from alembic import context

from bot.store.migrate import shop_objects
from bot.store.models import Base

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=Base.metadata,
    include_object=shop_objects,
    render_as_batch=True,  # SQLite alters a table by copying it
)
with context.begin_transaction():
    context.run_migrations()
