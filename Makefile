# `make run` and `make test` are the two commands of the README: each sets up what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The suite runs twice: on SQLite, then on this PostgreSQL database (trust auth).
TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: setup run test lint browser java spreadsheet services wrk bench translations messages

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

setup: $(VENV)/.installed translations

# The interface's catalogues (petition/translations/<lang>/LC_MESSAGES/messages.po, kept in
# git) compiled to the .mo files Flask-Babel reads (not kept in git).
translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d petition/translations --statistics

# After changing interface text: collect it into messages.pot and merge it into each catalogue,
# then translate the new entries (tests/test_languages.py fails until French is complete).
BABEL_KEYWORDS := -k _l -k lazy_gettext -k ngettext:1,2
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg $(BABEL_KEYWORDS) --sort-by-file \
		--project=petition -o petition/translations/messages.pot .
	$(BIN)/pybabel update -i petition/translations/messages.pot -d petition/translations \
		--no-fuzzy-matching --ignore-obsolete

run: setup translations
	$(BIN)/flask --app petition init-db
	$(BIN)/flask --app petition run --host 127.0.0.1 --port 5000

# The browser tests drive Debian's chromium (Playwright cannot download its own here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }

# tests/e2e/test_accessibility.py injects axe-core from node_modules, tests/test_html.py runs
# vnu.jar from it (both pinned in package-lock.json). No install scripts: vnu-jar's would
# download a Java runtime when none is installed; `make java` installs Debian's.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq npm; }
	npm ci --no-audit --no-fund --ignore-scripts
	touch $@

# tests/test_html.py runs the Nu Html Checker (vnu.jar) on every page: it needs Java.
java:
	@command -v java >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq default-jre-headless; }

# tests/test_spreadsheet.py opens the CSV exports in LibreOffice Calc (headless).
spreadsheet:
	@command -v soffice >/dev/null 2>&1 || command -v libreoffice >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libreoffice-calc-nogui; }

# The benchmark (and its smoke test) drive the server with Debian's wrk.
wrk:
	@command -v wrk >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq wrk; }

# Not part of the tests: SQLite, or the PostgreSQL of DATABASE_URL (its tables are dropped!).
bench: setup wrk
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# PostgreSQL and Redis on 127.0.0.1, started if they are down; unreachable is a failure.
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || \
		$(SUDO) pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 20); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
	@pg_isready -h 127.0.0.1 -p 5432
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || \
		redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
	@for i in $$(seq 20); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
	@redis-cli -h 127.0.0.1 -p 6379 ping

lint: setup
	$(BIN)/ruff check .

test: setup translations node_modules/.installed browser java spreadsheet wrk lint services
	$(BIN)/pytest
	TEST_DATABASE_URL=$(TEST_POSTGRES_URL) $(BIN)/pytest
