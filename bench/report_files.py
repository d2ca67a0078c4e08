"""Earlier JSON reports read back: the baseline of a nightly audit, the reports a fleet merges."""
from __future__ import annotations

import json
from typing import Any

from bench.errors import InputError
from bench.reporters.json_report import REPORT_SCHEMA_VERSION


class ReportFileError(InputError):
    """A file is not a JSON report of this schema version."""


def load_report(path: str, purpose: str = "") -> dict[str, Any]:
    """An earlier JSON report, checked for the parts that --baseline and merge read. `purpose`
    ("baseline") heads the message of an error."""
    prefix = f"{purpose}: " if purpose else ""
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read().decode("utf-8"))
    except OSError as exc:
        raise ReportFileError(f"{prefix}cannot read {path}: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ReportFileError(f"{prefix}{path} is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("schema_version") != REPORT_SCHEMA_VERSION \
            or not isinstance(data.get("results"), list):
        raise ReportFileError(f"{prefix}{path} is not a docker-cis-bench JSON report "
                              f"(schema version {REPORT_SCHEMA_VERSION})")
    return data
