"""`migrate fleet`: scan many hosts over SSH with the same collector as a local run.

inventory  plain / Ansible INI / Ansible YAML inventories, --limit, name validation
ssh        paramiko transport: ssh_config, ProxyJump, host-key policy, key/agent auth
remote     the one-session POSIX sh prologue that picks the host's Python
scan       the bounded worker pool, per-host states, atomic per-host output, fleet.json
progress   a rich bar on a TTY, one line per host otherwise
cli        `migrate fleet scan` (add_fleet_parser / cmd_fleet) and a standalone main()
"""
