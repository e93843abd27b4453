#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the store's tests (Debian package, no
# systemd): initdb + pg_ctl in DIR, on a free loopback port, as an unprivileged
# user when run as root (postgres refuses to run as root).
#
#   url=$(test/pg/start-pg.sh DIR)     # prints postgres://postgres@127.0.0.1:PORT/postgres
#   test/pg/start-pg.sh --stop DIR     # stops it and removes DIR
set -euo pipefail

bindir() {
  if [ -n "${PG_BINDIR:-}" ]; then echo "$PG_BINDIR"; return; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -x "$d/pg_ctl" ] || { echo "start-pg.sh: no pg_ctl under /usr/lib/postgresql/*/bin (apt-get install -y postgresql)" >&2; exit 1; }
  echo "$d"
}

# run as the owner of DIR: postgres when we are root, else ourselves
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

BIN=$(bindir)

if [ "${1:-}" = "--stop" ]; then
  dir=${2:?usage: start-pg.sh --stop DIR}
  [ -d "$dir/data" ] && as_owner "$BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  exit 0
fi

dir=${1:?usage: start-pg.sh DIR}
mkdir -p "$dir"
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || { echo "start-pg.sh: no postgres user (the Debian package creates it)" >&2; exit 1; }
  chown postgres "$dir"
fi
port=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
# throwaway: no fsync, trust on loopback only
as_owner "$BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" start >/dev/null \
  || { cat "$dir/server.log" >&2; exit 1; }
echo "postgres://postgres@127.0.0.1:$port/postgres"
