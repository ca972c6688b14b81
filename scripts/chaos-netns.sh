#!/usr/bin/env bash
# The multi-worker chaos run (tests/chaos.py) with each worker on a separate "host": its own
# network namespace (`ip netns`), reaching PostgreSQL, Redis and the sandbox over a veth link.
#
#   sudo scripts/chaos-netns.sh [--orders 3000] [--rate 150]
#
# Run by hand, as root (it needs CAP_NET_ADMIN and CAP_SYS_ADMIN to create namespaces and
# links; CI does not run it). Starts its own throwaway PostgreSQL and Redis listening on the
# service address, and removes everything (namespaces, links, servers, data) on exit.
#
#   root namespace: PostgreSQL, Redis, the sandbox on 10.77.0.1 (and 127.0.0.1)
#   xpcn-w<i>:      worker i, 10.77.<i>.2/24 on veth xpcn-n<i>, default route via 10.77.<i>.1
#
# The namespaces share the file system, the process table and the clock with the root
# namespace; what they do not share is the network stack: loopback, addresses, routes and
# sockets. A worker reaches the services only over its link.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
PREFIX=xpcn-w
SERVICE=10.77.0.1
WORKERS=3
WORK="$(mktemp -d /tmp/xportcn-chaos-netns.XXXXXX)"
PG_PORT=55432
REDIS_PORT=56379

say() { echo "chaos-netns: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
    say "run as root: it creates network namespaces and veth links"
    exit 2
fi

as_pg() { runuser -u postgres -- "$@"; }

pg_bindir() {
    if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
        pg_config --bindir
    else
        ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1
    fi
}

cleanup() {
    set +e
    [ -f "$WORK/redis.pid" ] && kill "$(cat "$WORK/redis.pid")" 2>/dev/null
    [ -f "$WORK/pg/postmaster.pid" ] && as_pg "$(pg_bindir)/pg_ctl" -D "$WORK/pg" -m immediate -w stop >/dev/null 2>&1
    for i in $(seq 0 $((WORKERS - 1))); do
        ip link del "xpcn-h$i" 2>/dev/null
        ip netns del "$PREFIX$i" 2>/dev/null
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

# -- the "hosts" ------------------------------------------------------------------------------
for i in $(seq 0 $((WORKERS - 1))); do
    ns="$PREFIX$i"
    ip netns add "$ns"
    ip link add "xpcn-h$i" type veth peer name "xpcn-n$i"
    ip link set "xpcn-n$i" netns "$ns"
    ip addr add "10.77.$i.1/24" dev "xpcn-h$i"
    ip link set "xpcn-h$i" up
    ip netns exec "$ns" ip addr add "10.77.$i.2/24" dev "xpcn-n$i"
    ip netns exec "$ns" ip link set "xpcn-n$i" up
    ip netns exec "$ns" ip link set lo up
    ip netns exec "$ns" ip route add default via "10.77.$i.1"
done
say "namespaces: $(ip netns list | grep -c "^$PREFIX") workers; service address $SERVICE"

# -- the services, on the service address -----------------------------------------------------
mkdir -p "$WORK/pg" && chown postgres: "$WORK" "$WORK/pg"
as_pg "$(pg_bindir)/initdb" -D "$WORK/pg" -U postgres --auth=trust --no-sync >/dev/null
echo "host all all 10.77.0.0/16 trust" >>"$WORK/pg/pg_hba.conf"
as_pg "$(pg_bindir)/pg_ctl" -D "$WORK/pg" -l "$WORK/pg/server.log" -w -t 60 \
    -o "-c listen_addresses=$SERVICE,127.0.0.1 -c port=$PG_PORT -c unix_socket_directories='' -c max_connections=200" \
    start >/dev/null
redis-server --bind "$SERVICE" 127.0.0.1 --port "$REDIS_PORT" --protected-mode no --save '' \
    --appendonly no --daemonize yes --dir "$WORK" --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log"
for _ in $(seq 100); do redis-cli -h "$SERVICE" -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

# A worker's namespace has its own loopback: the root namespace's 127.0.0.1 is not reachable.
if ip netns exec "${PREFIX}0" "$PYTHON" -c "import socket; socket.create_connection(('127.0.0.1', $PG_PORT), 2)" 2>/dev/null; then
    say "worker 0 reached 127.0.0.1:$PG_PORT of the root namespace: the namespaces are not separate"
    exit 1
fi
ip netns exec "${PREFIX}0" "$PYTHON" -c "import socket; socket.create_connection(('$SERVICE', $PG_PORT), 5)"
say "worker namespaces reach PostgreSQL, Redis and the sandbox on $SERVICE only"

cd "$ROOT"
"$PYTHON" -m tests.chaos \
    --postgres-url "postgresql://postgres@$SERVICE:$PG_PORT/postgres" \
    --redis-url "redis://$SERVICE:$REDIS_PORT/0" \
    --directory "$WORK/run" --sandbox-host "$SERVICE" --netns-prefix "$PREFIX" "$@"
