"""The Docker daemon's configuration, read the way dockerd reads it."""
from bench.daemon.config import (DEFAULT_SOCKET, EffectiveConfig, config_of, data_root, effective_config,
                                 listen_addresses)
from bench.daemon.daemon_json import parse_daemon_json
from bench.daemon.flags import parse_flags, parse_ulimit, strip_daemon_command
from bench.daemon.options import OPTION_KINDS, ConfigError, Setting, format_value

__all__ = ["DEFAULT_SOCKET", "EffectiveConfig", "config_of", "data_root", "effective_config", "listen_addresses",
           "parse_daemon_json", "parse_flags", "parse_ulimit", "strip_daemon_command", "OPTION_KINDS",
           "ConfigError", "Setting", "format_value"]
