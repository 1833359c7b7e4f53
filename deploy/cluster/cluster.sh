#!/usr/bin/env bash
# The reference production layout on one machine, each "host" in its own network namespace:
#
#   db1 db2 db3   10.77.0.11-13   etcd member + Patroni + PostgreSQL 15 (one synchronous standby)
#   lb            10.77.0.10      HAProxy: 5000 writes (primary), 5001 reads (replicas),
#                                 8080 the API nodes, 7000 statistics
#   store         10.77.0.30      S3-compatible photo store (s3s-fs), bucket whistle-photos
#   app1 app2     10.77.0.21-22   whistle-api (:8080) + whistle-notifier
#
# The hosts hang off a bridge in the machine's own namespace (10.77.0.1), so this shell reaches
# every one of them; `cut HOST` takes a host's link down as a failed switch port would.
#
#   deploy/cluster/cluster.sh start      build what is missing, start everything, wait until ready
#   deploy/cluster/cluster.sh status     who is primary, replication, the load balancer's view
#   deploy/cluster/cluster.sh stop       stop every process (data kept)
#   deploy/cluster/cluster.sh teardown   stop, remove namespaces, bridge and data
#   deploy/cluster/cluster.sh cut HOST | heal HOST     take a host's link down / up
#   deploy/cluster/cluster.sh kill SERVICE HOST        kill -9 (postgres, patroni, api, notifier)
#   deploy/cluster/cluster.sh start-service SERVICE HOST
#
# Needs root (namespaces), and Debian's patroni, etcd-server, etcd-client and haproxy packages;
# `start` installs them with apt when missing. s3s-fs comes from crates.io (cargo install).
# Environment: WHISTLE_CLUSTER_DIR (default /var/tmp/whistle-cluster), WHISTLE_BIN_DIR (where
# whistle-api and whistle-notifier are; default: build them into target/debug), S3S_FS (the
# s3s-fs binary; default: on PATH or /opt/s3s/bin).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DIR=${WHISTLE_CLUSTER_DIR:-/var/tmp/whistle-cluster}
NET=10.77.0
BRIDGE=wh-br0
PG_BIN=/usr/lib/postgresql/15/bin
DB_HOSTS=(db1 db2 db3)
APP_HOSTS=(app1 app2)
ALL_HOSTS=(lb store "${DB_HOSTS[@]}" "${APP_HOSTS[@]}")
SIGNING_KEY="cluster-1:$(printf 'whistle-cluster-signing-key-0001' | base64 -w0)"

ip_of() {
  case $1 in
    lb) echo "$NET.10" ;;
    db1) echo "$NET.11" ;; db2) echo "$NET.12" ;; db3) echo "$NET.13" ;;
    app1) echo "$NET.21" ;; app2) echo "$NET.22" ;;
    store) echo "$NET.30" ;;
    *) echo "unknown host $1" >&2; return 1 ;;
  esac
}

log() { printf '%s cluster: %s\n' "$(date +%T)" "$*" >&2; }
in_ns() { local host=$1; shift; ip netns exec "wh-$host" "$@"; }

# ---- prerequisites --------------------------------------------------------------------------

need_packages() {
  local missing=()
  command -v patroni >/dev/null || missing+=(patroni)
  command -v etcd >/dev/null || missing+=(etcd-server)
  command -v etcdctl >/dev/null || missing+=(etcd-client)
  command -v haproxy >/dev/null || missing+=(haproxy)
  command -v curl >/dev/null || missing+=(curl)
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
  fi
  # The packages' own services are not wanted: this script runs its own instances.
  for svc in etcd patroni haproxy; do
    pkill -x "$svc" -U 0 2>/dev/null || true
  done
}

s3s_binary() {
  if [[ -n ${S3S_FS:-} ]]; then echo "$S3S_FS"; return; fi
  if command -v s3s-fs >/dev/null; then command -v s3s-fs; return; fi
  if [[ -x /opt/s3s/bin/s3s-fs ]]; then echo /opt/s3s/bin/s3s-fs; return; fi
  log "installing s3s-fs (cargo install)"
  cargo install s3s-fs@0.14.1 --features binary --locked --root /opt/s3s -q
  echo /opt/s3s/bin/s3s-fs
}

whistle_bins() {
  if [[ -n ${WHISTLE_BIN_DIR:-} ]]; then echo "$WHISTLE_BIN_DIR"; return; fi
  (cd "$ROOT" && cargo build -q -p whistle-api -p whistle-notifier >&2)
  echo "${CARGO_TARGET_DIR:-$ROOT/target}/debug"
}

# ---- network --------------------------------------------------------------------------------

network_up() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    ip addr add "$NET.1/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
  fi
  for host in "${ALL_HOSTS[@]}"; do
    local ns="wh-$host" veth="wh-$host"
    ip netns list | grep -qx "$ns\( .*\)\?" || ip netns add "$ns"
    # Decided inside the namespace: the machine-side end of a link from a namespace being
    # deleted can outlive it for a moment, and a host without its eth0 cannot bind its address.
    if ! in_ns "$host" ip link show eth0 >/dev/null 2>&1; then
      ip link del "$veth" 2>/dev/null || true
      wait_for 10 "the old link of $host to go" bash -c "! ip link show $veth"
      ip link add "$veth" type veth peer name eth0 netns "$ns"
      ip link set "$veth" master "$BRIDGE" up
      in_ns "$host" ip addr add "$(ip_of "$host")/24" dev eth0
      in_ns "$host" ip link set eth0 up
      in_ns "$host" ip link set lo up
      in_ns "$host" ip route add default via "$NET.1"
    fi
  done
  for host in "${ALL_HOSTS[@]}"; do
    in_ns "$host" ip -4 addr show dev eth0 | grep -q "inet $(ip_of "$host")/" ||
      { log "$host has no address on its link"; return 1; }
  done
}

network_down() {
  for host in "${ALL_HOSTS[@]}"; do
    ip netns del "wh-$host" 2>/dev/null || true
    ip link del "wh-$host" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  # Namespaces go asynchronously; the next start must not find their links.
  for host in "${ALL_HOSTS[@]}"; do
    wait_for 10 "the link of $host to go" bash -c "! ip link show wh-$host" || true
  done
}

# ---- configuration --------------------------------------------------------------------------

write_configs() {
  mkdir -p "$DIR"/{archive,backups,logs,run} "$DIR/store/whistle-photos"
  chmod 755 "$DIR"
  chown postgres:postgres "$DIR/archive" "$DIR/backups"
  local etcd_cluster="" etcd_hosts=""
  for host in "${DB_HOSTS[@]}"; do
    etcd_cluster+="${etcd_cluster:+,}$host=http://$(ip_of "$host"):2380"
    etcd_hosts+="${etcd_hosts:+,}$(ip_of "$host"):2379"
  done
  echo "$etcd_cluster" >"$DIR/etcd-cluster"
  for host in "${DB_HOSTS[@]}"; do
    local ip; ip=$(ip_of "$host")
    mkdir -p "$DIR/$host/etcd"
    install -d -o postgres -g postgres -m 700 "$DIR/$host/pg"
    install -d -o postgres -g postgres -m 755 "$DIR/$host/run"
    sed -e "s|@HOST@|$host|g" -e "s|@IP@|$ip|g" -e "s|@ETCD_HOSTS@|$etcd_hosts|g" \
        -e "s|@DIR@|$DIR|g" -e "s|@NET@|$NET|g" -e "s|@PG_BIN@|$PG_BIN|g" \
        "$ROOT/deploy/cluster/patroni.yml.in" >"$DIR/$host/patroni.yml"
    chown postgres:postgres "$DIR/$host/patroni.yml"
  done
  sed -e "s|@NET@|$NET|g" "$ROOT/deploy/cluster/haproxy.cfg.in" >"$DIR/haproxy.cfg"
}

# ---- services -------------------------------------------------------------------------------

pidfile() { echo "$DIR/run/$1-$2.pid"; }

# start_bg SERVICE HOST USER COMMAND...: runs COMMAND in HOST's namespace, logs to logs/.
start_bg() {
  local service=$1 host=$2 user=$3; shift 3
  local pid_file; pid_file=$(pidfile "$service" "$host")
  if [[ -f $pid_file ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then return; fi
  local out="$DIR/logs/$service-$host.log"
  if [[ $user == root ]]; then
    setsid ip netns exec "wh-$host" "$@" >>"$out" 2>&1 </dev/null &
  else
    setsid ip netns exec "wh-$host" setpriv --reuid "$user" --regid "$user" --init-groups -- "$@" \
      >>"$out" 2>&1 </dev/null &
  fi
  echo $! >"$pid_file"
}

start_etcd() {
  local host=$1 ip; ip=$(ip_of "$host")
  local state=new
  [[ -d $DIR/$host/etcd/member ]] && state=existing
  start_bg etcd "$host" root etcd --name "$host" --data-dir "$DIR/$host/etcd" \
    --listen-client-urls "http://$ip:2379,http://127.0.0.1:2379" \
    --advertise-client-urls "http://$ip:2379" \
    --listen-peer-urls "http://$ip:2380" --initial-advertise-peer-urls "http://$ip:2380" \
    --initial-cluster "$(cat "$DIR/etcd-cluster")" --initial-cluster-state "$state" \
    --initial-cluster-token whistle-etcd --heartbeat-interval 100 --election-timeout 1000
}

start_patroni() { start_bg patroni "$1" postgres patroni "$DIR/$1/patroni.yml"; }

start_haproxy() {
  start_bg haproxy lb root haproxy -W -db -f "$DIR/haproxy.cfg"
}

start_store() {
  start_bg store store root "$(s3s_binary)" --host 0.0.0.0 --port 9000 \
    --access-key whistle --secret-key whistle-photo-secret "$DIR/store"
}

app_env() {
  local host=$1
  cat <<EOF
DATABASE_URL=postgres://postgres@$NET.10:5000/whistle
WHISTLE__DATABASE__READ_URL=postgres://postgres@$NET.10:5001/whistle
WHISTLE__DATABASE__MIGRATE_ON_START=false
WHISTLE__DATABASE__READ_MAX_LAG_SECS=3
WHISTLE__DATABASE__READ_CHECK_MS=1000
WHISTLE__DATABASE__ACQUIRE_TIMEOUT_SECS=3
WHISTLE__DATABASE__STATEMENT_TIMEOUT_SECS=5
WHISTLE__SERVER__HOST=0.0.0.0
WHISTLE__SERVER__PORT=8080
WHISTLE__SERVER__PUBLIC_BASE_URL=http://$NET.10:8080
WHISTLE__AUTH__SIGNING_KEY=$SIGNING_KEY
WHISTLE__ATTACHMENTS__STORE=s3
WHISTLE__ATTACHMENTS__S3_ENDPOINT=http://$NET.30:9000
WHISTLE__ATTACHMENTS__S3_BUCKET=whistle-photos
WHISTLE__ATTACHMENTS__S3_ACCESS_KEY_ID=whistle
WHISTLE__ATTACHMENTS__S3_SECRET_ACCESS_KEY=whistle-photo-secret
WHISTLE__NOTIFIER__WORKER_ID=notifier-$host
WHISTLE__NOTIFIER__METRICS_ADDR=0.0.0.0:9187
WHISTLE__NOTIFIER__POLL_INTERVAL_MS=500
WHISTLE__NOTIFIER__BATCH_SIZE=20
WHISTLE__NOTIFIER__CONCURRENCY=4
WHISTLE__NOTIFIER__SEND_TIMEOUT_SECS=2
EOF
}

# The notifiers post every notice to a webhook receiver in the machine's own namespace
# (10.77.0.1:9099, run by the drills), which records each notification id it is sent.
notifier_config() {
  cat <<EOF
[notifier]
quiet_hours = ""

[[notifier.webhooks]]
name = "drill"
url = "http://$NET.1:9099/hook"
secret = "whistle-drill-webhook-secret"
templates = ["*"]
EOF
}

start_app() {
  local host=$1 bins; bins=$(cat "$DIR/bin-dir")
  app_env "$host" >"$DIR/$host.env"
  mkdir -p "$DIR/$host"
  start_bg api "$host" root env -C "$DIR/$host" $(cat "$DIR/$host.env") "$bins/whistle-api" serve
}

start_notifier() {
  local host=$1 bins; bins=$(cat "$DIR/bin-dir")
  app_env "$host" >"$DIR/$host.env"
  mkdir -p "$DIR/$host"
  notifier_config >"$DIR/notifier.toml"
  start_bg notifier "$host" root env -C "$DIR/$host" $(cat "$DIR/$host.env") \
    "$bins/whistle-notifier" --config "$DIR/notifier.toml"
}

stop_service() {
  local service=$1 host=$2 signal=${3:-TERM}
  local pid_file; pid_file=$(pidfile "$service" "$host")
  [[ -f $pid_file ]] || return 0
  local pid; pid=$(cat "$pid_file")
  # The recorded pid is `ip netns exec`'s, which became the service (exec); for Patroni the
  # PostgreSQL it started goes with it below.
  kill "-$signal" "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pid_file"
}

postgres_pid() {
  local pm="$DIR/$1/pg/data/postmaster.pid"
  [[ -f $pm ]] && head -1 "$pm"
}

# ---- waiting --------------------------------------------------------------------------------

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then log "gave up waiting for $what"; return 1; fi
    sleep 0.5
  done
}

patroni_role() { curl -s -m 2 "http://$(ip_of "$1"):8008/patroni" | sed -n 's/.*"state": *"running".*"role": *"\([a-z_]*\)".*/\1/p'; }
primary() { for h in "${DB_HOSTS[@]}"; do [[ $(patroni_role "$h") == primary || $(patroni_role "$h") == master ]] && { echo "$h"; return; }; done; return 1; }
replicas_streaming() {
  local n=0
  for h in "${DB_HOSTS[@]}"; do
    curl -s -m 2 "http://$(ip_of "$h"):8008/replica" -o /dev/null -w '%{http_code}' | grep -q 200 && n=$((n + 1))
  done
  ((n == 2))
}
sync_standby() {
  curl -s -m 2 "http://$(ip_of "$(primary)"):8008/cluster" | grep -q '"role": *"sync_standby"'
}
api_ready() { curl -sf -m 2 "http://$NET.10:8080/readyz"; }

# ---- commands -------------------------------------------------------------------------------

cmd_start() {
  [[ $EUID -eq 0 ]] || { echo "run as root (network namespaces)" >&2; exit 1; }
  need_packages
  network_up
  write_configs
  whistle_bins >"$DIR/bin-dir"
  for h in "${DB_HOSTS[@]}"; do start_etcd "$h"; done
  wait_for 30 "etcd" in_ns db1 etcdctl --endpoints "http://$NET.11:2379" endpoint health
  for h in "${DB_HOSTS[@]}"; do start_patroni "$h"; done
  wait_for 240 "a primary" primary
  start_haproxy
  start_store
  local p; p=$(primary)
  wait_for 180 "the write port" "$PG_BIN/psql" -h "$NET.10" -p 5000 -U postgres -AtXc "SELECT 1"
  if ! "$PG_BIN/psql" -h "$NET.10" -p 5000 -U postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'whistle'" | grep -q 1; then
    "$PG_BIN/psql" -h "$NET.10" -p 5000 -U postgres -qc "CREATE DATABASE whistle"
    log "migrating and seeding the demo city (through the write port)"
    (cd "$DIR" && env $(app_env app1) "$(cat "$DIR/bin-dir")/whistle-api" migrate >/dev/null)
    (cd "$DIR" && env $(app_env app1) "$(cat "$DIR/bin-dir")/whistle-api" demo >/dev/null)
  fi
  for h in "${APP_HOSTS[@]}"; do start_app "$h"; start_notifier "$h"; done
  wait_for 120 "two streaming replicas" replicas_streaming
  wait_for 60 "a synchronous standby" sync_standby
  wait_for 60 "the API through the load balancer" api_ready
  log "ready: primary $p; API http://$NET.10:8080; writes $NET.10:5000, reads $NET.10:5001; HAProxy stats http://$NET.10:7000/"
}

cmd_stop() {
  for h in "${APP_HOSTS[@]}"; do stop_service api "$h"; stop_service notifier "$h"; done
  stop_service haproxy lb
  stop_service store store
  for h in "${DB_HOSTS[@]}"; do stop_service patroni "$h"; done
  for h in "${DB_HOSTS[@]}"; do
    local pid; pid=$(postgres_pid "$h" || true)
    [[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null || true
  done
  for h in "${DB_HOSTS[@]}"; do stop_service etcd "$h"; done
}

cmd_teardown() {
  cmd_stop || true
  # Anything left in a namespace (a PostgreSQL whose Patroni was killed) goes with it.
  for host in "${ALL_HOSTS[@]}"; do
    local pids; pids=$(ip netns pids "wh-$host" 2>/dev/null || true)
    [[ -n $pids ]] && kill -KILL $pids 2>/dev/null || true
  done
  network_down
  rm -rf "$DIR"
}

cmd_status() {
  # Patroni's view of the members (from any reachable node), then HAProxy's of its servers.
  local h
  for h in "${DB_HOSTS[@]}"; do
    curl -s -m 2 "http://$(ip_of "$h"):8008/cluster" && break
  done | python3 -c '
import json, sys
for m in json.load(sys.stdin)["members"]:
    print("{:4} {:13} {:10} timeline {} lag {}".format(
        m["name"], m["role"], m["state"], m.get("timeline", "-"), m.get("lag", 0)))
' || echo "no Patroni node answers"
  printf 'haproxy: '
  curl -s -m 2 "http://$NET.10:7000/;csv" |
    awk -F, 'NR>1 && $2!="FRONTEND" && $2!="BACKEND" {printf "%s/%s=%s ", $1, $2, $18} END {print ""}'
}

cmd_cut() { ip link set "wh-$1" down; }
cmd_heal() { ip link set "wh-$1" up; }

cmd_kill() {
  local service=$1 host=$2
  case $service in
    postgres) kill -KILL "$(postgres_pid "$host")" ;;
    patroni | api | notifier | etcd | haproxy | store) kill -KILL "$(cat "$(pidfile "$service" "$host")")" ;;
    *) echo "unknown service $service" >&2; exit 2 ;;
  esac
}

cmd_start_service() {
  local service=$1 host=$2
  case $service in
    api) start_app "$host" ;;
    notifier) start_notifier "$host" ;;
    patroni) start_patroni "$host" ;;
    etcd) start_etcd "$host" ;;
    *) echo "unknown service $service" >&2; exit 2 ;;
  esac
}

# Sourced (by the drills): functions only.
[[ ${BASH_SOURCE[0]} == "$0" ]] || return 0

# Services started as user postgres inherit the working directory; a caller's private one (a
# CI clone made by mktemp is mode 0700) stops Patroni's bootstrap with "Permission denied".
cd /

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  teardown) cmd_teardown ;;
  status) cmd_status ;;
  primary) primary ;;
  cut) cmd_cut "$2" ;;
  heal) cmd_heal "$2" ;;
  kill) cmd_kill "$2" "$3" ;;
  start-service) cmd_start_service "$2" "$3" ;;
  env) app_env "${2:-app1}" ;;
  *) sed -n '2,25p' "$0"; exit 2 ;;
esac
