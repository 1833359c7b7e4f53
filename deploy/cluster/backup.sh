#!/usr/bin/env bash
# Backups of the cluster's PostgreSQL: a base backup plus the continuous WAL archive (every
# node's archive_command copies finished WAL segments to $WHISTLE_CLUSTER_DIR/archive), and a
# point-in-time restore from them into a fresh PostgreSQL.
#
#   (paths absolute)
#   backup.sh base DEST                 base backup of the primary (through HAProxy's write port)
#   backup.sh restore BASE TARGET TIME  copy BASE to TARGET, replay the archive up to TIME
#                                       (e.g. '2026-12-03 17:45:00+00'), promote, and print the
#                                       port the restored server listens on (socket in TARGET/run)
#   backup.sh stop TARGET               stop a restored server
#
# In production the archive lives on another machine or an object store (pgBackRest's repo);
# the commands are the same with restore_command pointing there.
set -euo pipefail

DIR=${WHISTLE_CLUSTER_DIR:-/var/tmp/whistle-cluster}
PG_BIN=/usr/lib/postgresql/15/bin
# pg_basebackup and pg_ctl run as postgres, which may not enter the caller's directory.
cd /
as_postgres() { setpriv --reuid postgres --regid postgres --init-groups -- "$@"; }

case ${1:-} in
  base)
    dest=$2
    install -d -o postgres -g postgres "$(dirname "$dest")"
    as_postgres "$PG_BIN/pg_basebackup" -h 10.77.0.10 -p 5000 -U replicator -D "$dest" \
      -X stream -c fast --label "whistle-$(date +%Y%m%dT%H%M%S)"
    ;;
  restore)
    base=$2 target=$3 time=$4
    rm -rf "$target"
    install -d -o postgres -g postgres -m 700 "$target" "$target/run"
    cp -a "$base" "$target/data"
    chown -R postgres:postgres "$target/data"
    # The copy was a primary's: no standby settings to undo. Recovery replays the archive up to
    # the target time, then the server is promoted and accepts writes.
    rm -f "$target/data/postmaster.pid" "$target/data/standby.signal"
    # Patroni writes every recovery setting into postgresql.conf, empty ones included; a server
    # given one target must see no other, so its recovery and replication lines go.
    sed -i -E '/^(recovery_|primary_|restore_command|archive_cleanup_command|promote_trigger_file)/d' \
      "$target/data/postgresql.conf"
    touch "$target/data/recovery.signal"
    chown postgres:postgres "$target/data/recovery.signal"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_postgres "$PG_BIN/pg_ctl" -D "$target/data" -l "$target/postgres.log" -w -t 120 start -o "\
      -c port=$port -c listen_addresses='' -c unix_socket_directories='$target/run' \
      -c archive_mode=off -c synchronous_standby_names='' -c primary_conninfo='' \
      -c hba_file='$target/data/pg_hba.conf' -c ident_file='$target/data/pg_ident.conf' \
      -c restore_command='cp $DIR/archive/%f %p' \
      -c recovery_target_time='$time' -c recovery_target_action=promote" >/dev/null
    # Wait for the end of recovery (promotion).
    for _ in $(seq 240); do
      state=$("$PG_BIN/psql" -h "$target/run" -p "$port" -U postgres -AtXc 'SELECT pg_is_in_recovery()' 2>/dev/null || true)
      [[ $state == f ]] && { echo "$port"; exit 0; }
      sleep 0.5
    done
    echo "the restored server did not finish recovery; see $target/postgres.log" >&2
    exit 1
    ;;
  stop)
    as_postgres "$PG_BIN/pg_ctl" -D "$2/data" -m fast -w stop >/dev/null
    ;;
  *)
    sed -n '2,16p' "$0"
    exit 2
    ;;
esac
