import argparse
import logging

from aiohttp import web

from bot import settings
from bot.console.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description="xiaoer console web app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=settings.CONSOLE_PORT)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    web.run_app(create_app(), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
