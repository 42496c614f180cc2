# The two commands a newcomer needs:
#   make run    set up, seed the demo shop, train if needed, start everything
#   make test   set up (plus Chromium) and run the test suite
.PHONY: run test setup train seed check eval

run: setup
	.venv/bin/xiaoer run

test:
	scripts/setup.sh --test
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/python -m pytest

setup:
	scripts/setup.sh

train: setup
	.venv/bin/xiaoer train

seed: setup
	.venv/bin/xiaoer seed

check: setup
	.venv/bin/xiaoer check
