"""The application: settings, the HTTP endpoint, the engine slot, the server's wiring and the command line.

`bot.py` parses nothing itself: it calls `app.cli`. The modules, one job each:
- `settings.py`: the pydantic-settings `Settings`, read once at start;
- `endpoint.py`: POST /api/messages (the request checks, authentication, the replay guard) and GET /healthz;
- `engine_slot.py`: the engine loaded in the background and hot-swapped on a new index generation;
- `server.py`: the aiohttp app (stores opened and closed, the routes, the daily-sweep scheduler) and `serve`;
- `cli.py`: the commands `index`, `serve`, `ask`, `gaps` and `package`.
The Bot Framework SDK stays in channel/: nothing here imports it.
"""
