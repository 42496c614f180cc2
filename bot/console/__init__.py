"""The console web app (aiohttp): the store chat page buyers use, the agents' workbench and
queue, and the trainers' page."""
