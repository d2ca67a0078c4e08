"""Checks declared in YAML: a target, a field and a comparison from bench/operators.py.

    checks:
      - id: daemon-icc-disabled
        title: Inter-container communication on the default bridge is off
        target: daemon          # daemon | engine | file | audit | container | image | host
        field: icc              # daemon.json key / inspect path / ...
        op: equals
        value: false
        default: true           # what an unset field means (dockerd's default)

spec.py holds what a check says, targets.py each target (needs, fields, evaluator), parse.py the
reading and validation of a file.
"""
from bench.yaml_checks.parse import SLUG, compile_check, load_check_file
from bench.yaml_checks.spec import CheckFileError, YamlCheckSpec
from bench.yaml_checks.targets import TARGETS

__all__ = ["SLUG", "TARGETS", "CheckFileError", "YamlCheckSpec", "compile_check", "load_check_file"]
