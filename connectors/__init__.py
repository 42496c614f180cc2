"""Channels that connect consoles to the Rasa server."""
