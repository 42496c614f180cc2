"""The console web app: the store chat page buyers use (later: agent workbench, trainer pages)."""
