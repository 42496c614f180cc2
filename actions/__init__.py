"""Rasa custom actions: thin adapters between Rasa's tracker and the shop logic in bot/."""
