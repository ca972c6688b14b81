#!/usr/bin/env bash
# Throwaway PostgreSQL and Redis servers for the test suite, on free 127.0.0.1 ports.
#
#   scripts/test-services.sh start    start both (installs redis-server with apt-get when it is
#                                     missing and we are root), write their URLs to the env file
#   scripts/test-services.sh env      print the export lines:  eval "$(scripts/test-services.sh env)"
#   scripts/test-services.sh stop     stop both and delete their data
#
# State lives in $XPORTCN_SERVICES_DIR (default: .services in the repository). PostgreSQL's
# data directory is a fresh temp directory owned by the user that runs it: as root, that is
# the `postgres` user, because PostgreSQL refuses to run as root. Nothing here is durable:
# the data is thrown away by `stop`.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${XPORTCN_SERVICES_DIR:-$ROOT/.services}"
ENV_FILE="$DIR/env"

say() { echo "test-services: $*" >&2; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pg_bindir() {
    if [ -n "${XPORTCN_PG_BINDIR:-}" ]; then echo "$XPORTCN_PG_BINDIR"; return; fi
    if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
        pg_config --bindir; return
    fi
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return; fi
    say "PostgreSQL's initdb was not found (install PostgreSQL 15, or set XPORTCN_PG_BINDIR)"
    return 1
}

# Run a PostgreSQL binary as the cluster's owner: `postgres` when we are root.
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

ensure_redis() {
    if command -v redis-server >/dev/null 2>&1; then return; fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing redis-server with apt-get"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
        return
    fi
    say "redis-server is not installed (Debian: apt-get install redis-server)"
    return 1
}

start_postgres() {
    local bindir port data
    bindir="$(pg_bindir)"
    port="$(free_port)"
    data="$(mktemp -d /tmp/xportcn-pg.XXXXXX)"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$data"; fi
    echo "$data" >"$DIR/pg-data"
    as_pg "$bindir/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --no-sync >"$DIR/pg-initdb.log" 2>&1 \
        || { cat "$DIR/pg-initdb.log" >&2; return 1; }
    # TCP on 127.0.0.1 only; no Unix socket, so that no shared socket directory is needed.
    as_pg "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='' -c max_connections=200" \
        start >/dev/null || { cat "$data/server.log" >&2; return 1; }
    echo "export XPORTCN_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$port/postgres" >>"$ENV_FILE"
    say "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $data)"
}

start_redis() {
    local port
    ensure_redis
    port="$(free_port)"
    redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize yes \
        --dir "$DIR" --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log"
    for _ in $(seq 100); do
        if redis-cli -p "$port" ping >/dev/null 2>&1; then break; fi
        sleep 0.1
    done
    redis-cli -p "$port" ping >/dev/null || { cat "$DIR/redis.log" >&2; return 1; }
    echo "export XPORTCN_TEST_REDIS_URL=redis://127.0.0.1:$port/0" >>"$ENV_FILE"
    say "Redis $(redis-server --version | awk '{print $3}' | cut -d= -f2) on 127.0.0.1:$port"
}

stop() {
    if [ -f "$DIR/pg-data" ]; then
        local data
        data="$(cat "$DIR/pg-data")"
        if [ -f "$data/postmaster.pid" ]; then
            as_pg "$(pg_bindir)/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
        fi
        rm -rf "$data"
    fi
    if [ -f "$DIR/redis.pid" ]; then
        kill "$(cat "$DIR/redis.pid")" 2>/dev/null || true
    fi
    rm -rf "$DIR"
}

case "${1:-}" in
    start)
        if [ -f "$ENV_FILE" ]; then
            say "already started ($ENV_FILE); run '$0 stop' first"
            exit 1
        fi
        mkdir -p "$DIR"
        : >"$ENV_FILE"
        trap stop EXIT   # a half-started set is torn down
        start_postgres
        start_redis
        trap - EXIT
        say "started; now run: eval \"\$($0 env)\""
        ;;
    env)
        if [ ! -f "$ENV_FILE" ]; then
            say "not started; run '$0 start' first"
            exit 1
        fi
        cat "$ENV_FILE"
        ;;
    stop)
        stop
        ;;
    *)
        echo "usage: $0 start|env|stop" >&2
        exit 2
        ;;
esac
