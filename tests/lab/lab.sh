#!/usr/bin/env bash
# The VM lab: Debian 12 guests under qemu (TCG), SSH on 127.0.0.1, a private VDE switch between them.
#
#   lab.sh up [N | NAME[=IP] ...]   boot N VMs (default 3: cp1 w1 w2) or the named ones; waits for SSH
#   lab.sh down                     stop the VMs and the switch, remove the overlays
#   lab.sh status                   one line per VM; exit 1 when one is not running
#   lab.sh ssh HOST [COMMAND...]    SSH into a VM as the lab user (passwordless sudo)
#
# Environment:
#   LAB_ID            namespaces everything (default "default"): run dir .cache/lab/run/$LAB_ID
#                     (overlays, pidfiles, VDE socket, key, console logs, hosts.yaml) and SSH ports,
#                     so several labs can run at once
#   LAB_MEMORY        MiB per VM (1024)          LAB_BOOT_TIMEOUT  seconds to wait for SSH (600)
#   LAB_SSH_PORT_BASE first SSH port (default derived from LAB_ID)
#   LAB_SUBNET        VDE network, first three octets (10.99.0); default addresses .11, .12, ...
#   LAB_REPLACE=1     up stops a running lab of the same LAB_ID first (instead of failing)
#
# Node names: the first is the control plane (kube_control_plane, etcd), the others are workers
# (kube_node); a single VM is both. Default names: cp1, then w1, w2, ...
# Inventory: .cache/lab/run/$LAB_ID/hosts.yaml (Kubespray group names, ip/access_ip = VDE address)
# next to group_vars -> tests/lab/inventory/group_vars. Machine-readable: instances.json (molecule's
# instance config format).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
LAB_ID=${LAB_ID:-default}
case "$LAB_ID" in
  ''|*[!A-Za-z0-9._-]*) echo "lab: LAB_ID must be letters, digits, '.', '_' or '-'" >&2; exit 2 ;;
esac
image="$top/.cache/lab/image"
run="$top/.cache/lab/run/$LAB_ID"
LAB_USER=lab
LAB_MEMORY=${LAB_MEMORY:-1024}
LAB_BOOT_TIMEOUT=${LAB_BOOT_TIMEOUT:-600}
LAB_SUBNET=${LAB_SUBNET:-10.99.0}
ssh_opts=(-o BatchMode=yes -o ConnectTimeout=5 -o StrictHostKeyChecking=no
          -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR)

log() { echo "lab[$LAB_ID]: $*" >&2; }
die() { log "$*"; exit 1; }

# alive PIDFILE: the process named in PIDFILE exists, is no zombie and belongs to this lab
# (its command line names the run dir), so a recycled PID is never mistaken for ours.
alive() {
  local pid state
  [ -s "$1" ] || return 1
  pid=$(cat "$1")
  [ -r "/proc/$pid/stat" ] || return 1
  state=$(sed -e 's/^.*) //' "/proc/$pid/stat" | cut -d' ' -f1) || return 1
  [ "$state" != Z ] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$run/"
}

stop_pidfile() {
  local f=$1 pid i
  if alive "$f"; then
    pid=$(cat "$f")
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do alive "$f" || break; sleep 0.2; done
    if alive "$f"; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.5; fi
    alive "$f" && log "could not stop PID $pid ($f)"
  fi
  rm -f "$f"
}

nodes() { [ -s "$run/nodes" ] && cat "$run/nodes"; }

port_in_use() { ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }

cmd_down() {
  local n
  [ -d "$run" ] || { log "not up"; return 0; }
  for n in $(nodes); do stop_pidfile "$run/$n.pid"; done
  # VMs not listed in nodes (an interrupted up)
  for f in "$run"/*.pid; do [ -e "$f" ] && [ "$f" != "$run/vde.pid" ] && stop_pidfile "$f"; done
  stop_pidfile "$run/vde.pid"
  rm -rf "$run/vde" "$run"/*.qcow2 "$run"/*.port "$run"/*.ip "$run/hosts.yaml" "$run/instances.json" "$run/nodes" "$run/group_vars"
  log "down (console logs kept in $run)"
}

cmd_status() {
  local n rc=0 state
  [ -s "$run/nodes" ] || { log "not up"; return 1; }
  for n in $(nodes); do
    if alive "$run/$n.pid"; then state=running; else state=stopped; rc=1; fi
    printf '%-8s %-8s ssh 127.0.0.1:%-6s ip %s\n' "$n" "$state" "$(cat "$run/$n.port")" "$(cat "$run/$n.ip")"
  done
  if alive "$run/vde.pid"; then echo "vde      running  $run/vde"; else echo "vde      stopped"; rc=1; fi
  return $rc
}

cmd_ssh() {
  local n=${1:?usage: lab.sh ssh HOST [COMMAND...]}
  shift
  [ -s "$run/$n.port" ] || die "no VM $n in this lab (LAB_ID=$LAB_ID)"
  exec ssh "${ssh_opts[@]}" -i "$run/id_ed25519" -p "$(cat "$run/$n.port")" "$LAB_USER@127.0.0.1" "$@"
}

write_inventory() {
  local names=("$@") n i cp key="$run/id_ed25519"
  cp=${names[0]}
  {
    echo "# Written by tests/lab/lab.sh (LAB_ID=$LAB_ID); group_vars/ -> tests/lab/inventory/group_vars"
    echo "all:"
    echo "  hosts:"
    for n in "${names[@]}"; do
      echo "    $n:"
      echo "      ansible_host: 127.0.0.1"
      echo "      ansible_port: $(cat "$run/$n.port")"
      echo "      ansible_user: $LAB_USER"
      echo "      ansible_ssh_private_key_file: $key"
      echo "      ip: $(cat "$run/$n.ip")"
      echo "      access_ip: $(cat "$run/$n.ip")"
    done
    echo "  children:"
    echo "    kube_control_plane:"
    echo "      hosts:"
    echo "        $cp:"
    echo "    etcd:"
    echo "      hosts:"
    echo "        $cp:"
    echo "    kube_node:"
    echo "      hosts:"
    if [ ${#names[@]} -eq 1 ]; then echo "        $cp:"; fi
    for n in "${names[@]:1}"; do echo "        $n:"; done
    echo "    k8s_cluster:"
    echo "      children:"
    echo "        kube_control_plane:"
    echo "        kube_node:"
  } > "$run/hosts.yaml"
  ln -sfn "$top/tests/lab/inventory/group_vars" "$run/group_vars"
  {
    echo "["
    i=0
    for n in "${names[@]}"; do
      [ $i -eq 0 ] || echo ","
      printf '  {"instance": "%s", "address": "127.0.0.1", "port": %s, "user": "%s", "identity_file": "%s", "ip": "%s"}' \
        "$n" "$(cat "$run/$n.port")" "$LAB_USER" "$key" "$(cat "$run/$n.ip")"
      i=$((i + 1))
    done
    echo
    echo "]"
  } > "$run/instances.json"
}

cmd_up() {
  local names=() ips=() spec n i ip port base key64 start=$SECONDS
  if [ $# -eq 0 ]; then set -- 3; fi
  if [ $# -eq 1 ] && [[ $1 =~ ^[0-9]+$ ]]; then
    if [ "$1" -lt 1 ] || [ "$1" -gt 40 ]; then die "N must be 1..40"; fi
    names=(cp1)
    for ((i = 1; i < $1; i++)); do names+=("w$i"); done
    set -- "${names[@]}"
    names=()
  fi
  i=0
  for spec in "$@"; do
    n=${spec%%=*}
    [[ $n =~ ^[a-z][a-z0-9-]*$ ]] || die "bad node name '$n' (lower-case letters, digits, '-')"
    ip=""
    if [[ $spec == *=* ]]; then ip=${spec#*=}; fi
    [ -n "$ip" ] || ip="$LAB_SUBNET.$((11 + i))"
    [[ $ip =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "bad address '$ip' for $n (plain IPv4, /24 is added)"
    names+=("$n"); ips+=("$ip"); i=$((i + 1))
  done

  mkdir -p "$run"
  if [ "${LAB_REPLACE:-0}" != 1 ]; then
    for n in $(nodes) "${names[@]}"; do
      alive "$run/$n.pid" && die "already up (VM $n running): run 'LAB_ID=$LAB_ID $0 down' first"
    done
  fi
  cmd_down >/dev/null 2>&1 || true
  mkdir -p "$run"

  bash "$top/tests/lab/build-image.sh"
  [ -f "$image/base.qcow2" ] || die "no image in $image"

  [ -f "$run/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C "lab-$LAB_ID" -f "$run/id_ed25519"
  key64=$(base64 -w0 < "$run/id_ed25519.pub")

  if [ -n "${LAB_SSH_PORT_BASE:-}" ]; then
    base=$LAB_SSH_PORT_BASE
  else
    base=$(( 22000 + ($(printf '%s' "$LAB_ID" | cksum | cut -d' ' -f1) % 400) * 20 ))
  fi

  mkdir -p "$run/vde"
  vde_switch --sock "$run/vde" --daemon --pidfile "$run/vde.pid" >/dev/null
  for i in $(seq 1 50); do
    if [ -S "$run/vde/ctl" ] && alive "$run/vde.pid"; then break; fi
    sleep 0.2
  done
  alive "$run/vde.pid" || die "vde_switch did not start"

  printf '%s\n' "${names[@]}" > "$run/nodes"
  port=$base
  for i in "${!names[@]}"; do
    n=${names[$i]}; ip=${ips[$i]}
    while port_in_use "$port"; do port=$((port + 1)); done
    echo "$port" > "$run/$n.port"
    echo "$ip" > "$run/$n.ip"
    qemu-img create -q -f qcow2 -b "$image/base.qcow2" -F qcow2 "$run/$n.qcow2"
    : > "$run/$n.console.log"
    qemu-system-x86_64 -name "lab-$LAB_ID-$n" \
      -accel tcg,thread=multi,tb-size=256 -cpu max -machine q35 -smp 1 -m "$LAB_MEMORY" \
      -nodefaults -no-user-config -display none \
      -kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
      -append "root=/dev/vda rw console=ttyS0 net.ifnames=0 systemd.hostname=$n lab.user=$LAB_USER lab.key=$key64 lab.ip=$ip/24" \
      -drive "file=$run/$n.qcow2,if=virtio,format=qcow2,cache=unsafe,discard=unmap" \
      -netdev "user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:$port-:22" \
      -device "virtio-net-pci,netdev=mgmt,mac=52:54:00:00:00:$(printf '%02x' $((i + 1)))" \
      -netdev "vde,id=lan,sock=$run/vde" \
      -device "virtio-net-pci,netdev=lan,mac=52:54:00:99:00:$(printf '%02x' $((i + 1)))" \
      -device virtio-rng-pci \
      -serial "file:$run/$n.console.log" \
      -daemonize -pidfile "$run/$n.pid"
    port=$((port + 1))
  done
  log "booting ${names[*]} (console logs: $run/NAME.console.log)"

  local pending=("${names[@]}") still deadline=$((SECONDS + LAB_BOOT_TIMEOUT))
  while [ ${#pending[@]} -gt 0 ]; do
    still=()
    for n in "${pending[@]}"; do
      alive "$run/$n.pid" || { tail -n 20 "$run/$n.console.log" >&2; die "VM $n died while booting"; }
      if ssh "${ssh_opts[@]}" -i "$run/id_ed25519" -p "$(cat "$run/$n.port")" "$LAB_USER@127.0.0.1" true 2>/dev/null; then
        log "$n ready after $((SECONDS - start))s"
      else
        still+=("$n")
      fi
    done
    pending=("${still[@]}")
    [ ${#pending[@]} -eq 0 ] && break
    [ $SECONDS -lt $deadline ] || die "no SSH after ${LAB_BOOT_TIMEOUT}s from: ${pending[*]}"
    sleep 3
  done
  write_inventory "${names[@]}"
  log "up in $((SECONDS - start))s; inventory $run/hosts.yaml"
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  ssh) shift; cmd_ssh "$@" ;;
  *) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
