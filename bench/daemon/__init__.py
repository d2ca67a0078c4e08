"""The Docker daemon's configuration, read the way dockerd reads it."""
from bench.daemon.config import EffectiveConfig, config_of, data_root, effective_config
from bench.daemon.daemon_json import DaemonJson, parse_daemon_json
from bench.daemon.flags import generation_of, parse_flags, render_flags, strip_daemon_command
from bench.daemon.go_values import parse_ulimit
from bench.daemon.hosts import parse_daemon_host
from bench.daemon.options import MFLAG, OPTION_KINDS, PFLAG, ConfigError, Setting, format_value
from bench.daemon.readings import (DEFAULT_SOCKET, SocketGroup, TlsMode, docker_group, listen_addresses, log_level,
                                   storage_opts, tls_mode)

__all__ = ["DEFAULT_SOCKET", "EffectiveConfig", "config_of", "data_root", "effective_config", "DaemonJson",
           "parse_daemon_json", "generation_of", "parse_flags", "parse_ulimit", "render_flags",
           "strip_daemon_command", "parse_daemon_host", "MFLAG", "OPTION_KINDS", "PFLAG", "ConfigError", "Setting",
           "format_value", "SocketGroup", "TlsMode", "docker_group", "listen_addresses", "log_level", "storage_opts",
           "tls_mode"]
