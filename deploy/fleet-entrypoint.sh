#!/bin/sh
# Writes this shard's fleet file from FLEET_SHARD (or the pod ordinal) and runs the fleet.
set -eu
shard="${FLEET_SHARD:-${HOSTNAME##*-}}"
case "$shard" in ''|*[!0-9]*) shard=0 ;; esac
last=$((FLEET_FIRST_PORT + FLEET_HOSTS - 1))
conf="$FLEET_STATE/fleet.toml"
mkdir -p "$FLEET_STATE"
cat > "$conf" <<TOML
[fleet]
listen = "0.0.0.0"
ports = "$FLEET_FIRST_PORT-$last"

[[host]]
hostname = "hv-$shard-{n:04d}"
count = $FLEET_HOSTS
cpus = ${FLEET_CPUS:-32}
memory_mib = ${FLEET_MEMORY_MIB:-131072}
TOML
exec virtwire serve --state-dir "$FLEET_STATE" --fleet-config "$conf"
