"""The action server, as `python -m actions --port 5055`: rasa_sdk's app, on the configured
host only (loopback by default, not rasa_sdk's 0.0.0.0), answering only the Rasa server.

Every action call must carry the shared token (XIAOER_ACTION_SECRET) in the
X-Xiaoer-Action-Token header, which Rasa sends from endpoints.yml: without it anyone who
reached the port could run any action for any buyer.
"""

import argparse
import hmac
import logging

from rasa_sdk.endpoint import create_app
from sanic import response
from sanic.request import Request

from bot import settings

TOKEN_HEADER = "X-Xiaoer-Action-Token"
logger = logging.getLogger(__name__)


def main() -> None:
    parser = argparse.ArgumentParser(description="xiaoer action server")
    parser.add_argument("--host", default=settings.HOST)
    parser.add_argument("--port", type=int, default=settings.ACTIONS_PORT)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_app("actions", cors_origins=None)
    token = settings.secret("action")

    @app.on_request
    async def require_token(request: Request):
        if request.path == "/health":
            return None
        given = request.headers.get(TOKEN_HEADER, "")
        if not hmac.compare_digest(given.encode(), token.encode()):
            logger.warning("refused an action call without the action token from %s", request.ip)
            return response.json({"error": f"send the action token in {TOKEN_HEADER}"}, status=401)
        return None

    warm_up()
    app.run(args.host, args.port, workers=1, access_log=False)


def warm_up() -> None:
    """Load jieba's dictionary now, not while the first buyer who names a product waits (a second)."""
    import jieba

    jieba.initialize()


if __name__ == "__main__":
    main()
