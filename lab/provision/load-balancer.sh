#!/usr/bin/env bash
# The lb VM (3 control planes): `kubestrap lb` on <network>.9:6443, a TCP balancer over the three
# API servers (health: TCP connect), as a systemd service. It is the controlPlaneEndpoint, so it
# comes up first. Running already with these upstreams: nothing to do. Variables: lib.sh.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
seeds=()
for ip in $LAB_CONTROL_PLANE_IPS; do seeds+=(--seed "$ip:6443"); done
unit=/etc/systemd/system/kubestrap-lb.service
before="$(cat "$LAB_ROOT$unit" 2>/dev/null || true)"
write_file "$unit" <<EOF
[Unit]
Description=kubestrap lb: the lab's API endpoint in front of the control planes
After=network-online.target
Wants=network-online.target
RequiresMountsFor=/vagrant

[Service]
ExecStart=$LAB_KUBESTRAP lb --listen 0.0.0.0:6443 ${seeds[*]}
Restart=always
RestartSec=2

[Install]
WantedBy=multi-user.target
EOF
if [ "$LAB_HOST_SETUP" = 1 ]; then
  systemctl daemon-reload
  systemctl enable kubestrap-lb.service >/dev/null 2>&1
  if [ "$before" != "$(cat "$LAB_ROOT$unit")" ] || ! systemctl is-active -q kubestrap-lb.service; then
    systemctl restart kubestrap-lb.service
  fi
fi
say "kubestrap lb on $LAB_NODE_IP:6443 → $LAB_CONTROL_PLANE_IPS"
