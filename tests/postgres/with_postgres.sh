#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL server on loopback, then stop and remove it.
#   tests/postgres/with_postgres.sh COMMAND...
# Exports AML_SALVAGE_PG_HOST/PORT/NAME/USER for aml_salvage.settings.test_postgres. Fails loudly (never
# skips) when PostgreSQL cannot be installed or started: `make test` runs both databases.
set -euo pipefail

die() { echo "POSTGRESQL TESTS CANNOT RUN: $*" >&2; exit 1; }

find_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
  done
  return 1
}

BIN=$(find_bin) || {
  echo "PostgreSQL server not found: installing Debian's postgresql package" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null \
    || die "apt-get install postgresql failed"
  BIN=$(find_bin) || die "postgresql installed but initdb not found"
}

PORT=${AML_SALVAGE_PG_PORT:-$((54000 + RANDOM % 900))}
DIR=$(mktemp -d /tmp/aml-salvage-pg.XXXXXX)
chmod 755 "$DIR"
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' user to own the cluster"
  chown postgres: "$DIR"
  AS=(runuser -u postgres --)
else
  AS=()
fi

cleanup() {
  "${AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT

"${AS[@]}" "$BIN/initdb" -D "$DIR/data" -U postgres --auth-local=trust --auth-host=trust -E UTF8 --locale=C.UTF-8 \
  >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
"${AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/data/server.log" \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR/data -c fsync=off -c synchronous_commit=off" -w start \
  >/dev/null || { cat "$DIR/data/server.log" >&2; die "the server did not start"; }
"${AS[@]}" "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres aml_salvage || die "createdb failed"

export AML_SALVAGE_PG_HOST=127.0.0.1 AML_SALVAGE_PG_PORT=$PORT AML_SALVAGE_PG_NAME=aml_salvage AML_SALVAGE_PG_USER=postgres
echo "PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT (throwaway cluster in $DIR)"
"$@"
