#!/usr/bin/env bash
# A local PostgreSQL for the alert store's tests and demos, on 127.0.0.1 only.
#
#   scripts/postgres.sh [--port P] [--dir DIR]   start (installing Debian's postgresql when
#                                                missing); prints the admin URL
#   scripts/postgres.sh stop [--dir DIR]
#
# The cluster trusts local connections (a throwaway test server, never a production one)
# and runs as the `postgres` system user. A second start on a running cluster only prints
# its URL.
set -euo pipefail

port=55432
dir=/tmp/pumpwatch-postgres
action=start
while [ $# -gt 0 ]; do
    case "$1" in
        stop) action=stop ;;
        --port) port="$2"; shift ;;
        --dir) dir="$2"; shift ;;
        *) echo "postgres.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

bin_dir() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true
}

as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

if [ "$action" = stop ]; then
    bin="$(bin_dir)"
    [ -n "$bin" ] && [ -f "$dir/data/postmaster.pid" ] && as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null
    exit 0
fi

if [ -z "$(bin_dir)" ]; then
    echo "postgres.sh: installing Debian's postgresql" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
fi
bin="$(bin_dir)"

url="postgres://postgres@127.0.0.1:$port/postgres"
if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
    echo "$url"
    exit 0
fi

mkdir -p "$dir"
if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
fi
as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off -c max_connections=200" \
    start >/dev/null
echo "$url"
