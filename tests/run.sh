#!/usr/bin/env bash
# Install the test dependencies and run the whole suite: on SQLite, then on
# PostgreSQL (skipped, with the reason, when no server answers).
#   bash tests/run.sh [pytest args]
# JMAPD_TEST_PG_URL overrides the PostgreSQL server (default: the local one).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${JMAPD_VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PY" -m venv "$VENV" 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
      "$PY" -m venv "$VENV"
    else
      echo "python3 -m venv failed: install python3-venv" >&2; exit 1
    fi
  fi
fi
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
"$VENV/bin/python" -m pip install -q -e '.[test]' -e tests/example_plugin
export PATH="$PWD/$VENV/bin:$PATH"

# A real IMAP server for the import tests (they skip, saying so, without it).
if ! command -v dovecot >/dev/null && [ ! -x /usr/sbin/dovecot ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "== installing dovecot-imapd (IMAP import tests)"
  (export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq dovecot-imapd >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq dovecot-imapd >/dev/null 2>&1; }) \
    || echo "could not install dovecot-imapd: the IMAP import tests will skip" >&2
fi

# The suite starts hundreds of Python processes (the CLI, jmapd serve and its
# workers): from bytecode each starts ~0.3 s sooner than from source, and some
# environments set PYTHONDONTWRITEBYTECODE. Compile the tree once.
unset PYTHONDONTWRITEBYTECODE
"$VENV/bin/python" -m compileall -q -j 0 jmapd plugins tests/example_plugin >/dev/null

echo "== ruff"
"$VENV/bin/ruff" check jmapd plugins tests bench

echo "== mypy (--strict on the core and the plugins)"
"$VENV/bin/mypy" --strict jmapd plugins

echo "== quick start (a plain install, runtime dependencies only)"
"$VENV/bin/python" tests/quickstart_smoke.py

echo "== tests on SQLite"
env -u JMAPD_TEST_DATABASE "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"

PG_URL=${JMAPD_TEST_PG_URL:-postgresql://postgres@127.0.0.1:5432/test}
if "$VENV/bin/python" - "$PG_URL" <<'PYEOF'
import sys, psycopg2
try:
    psycopg2.connect(sys.argv[1], connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL unreachable at {sys.argv[1]}: {exc}".strip())
    sys.exit(1)
PYEOF
then
  echo "== tests on PostgreSQL ($PG_URL)"
  JMAPD_TEST_DATABASE="$PG_URL" "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
else
  echo "== SKIPPED the PostgreSQL run: no PostgreSQL server answered (set JMAPD_TEST_PG_URL)"
fi
