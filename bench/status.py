"""The seven verdicts and how they combine."""
from __future__ import annotations

import enum
from typing import Iterable


class Status(str, enum.Enum):
    PASS = "PASS"    # compliant
    FAIL = "FAIL"    # a scored recommendation is violated
    WARN = "WARN"    # a not-scored recommendation is violated, or a heuristic finding
    INFO = "INFO"    # manual recommendation: evidence for a human
    SKIP = "SKIP"    # not applicable here, with the reason
    ERROR = "ERROR"  # a needed fact could not be collected, with the reason
    WAIVED = "WAIVED"  # a violation an operator accepted in a waivers file, with the reason (never a pass)

    def __str__(self) -> str:
        return self.value


# Worst first. A violation outranks an error: one failing container fails the recommendation even
# when another could not be inspected. An error outranks everything else, because a recommendation
# with an unknown part must never read PASS.
# A waived violation outranks a pass: it is still there, only accepted.
SEVERITY = (Status.FAIL, Status.ERROR, Status.WARN, Status.WAIVED, Status.INFO, Status.PASS, Status.SKIP)
_RANK = {status: rank for rank, status in enumerate(SEVERITY)}


# The statuses that are a finding: something for a person to act on. A baseline compares them, a
# fleet ranks hosts by them.
FINDINGS = (Status.FAIL, Status.WARN, Status.ERROR)


def worst(statuses: Iterable[Status], empty: Status = Status.SKIP) -> Status:
    ranked = sorted(statuses, key=_RANK.__getitem__)
    return ranked[0] if ranked else empty


# What a check may return: WAIVED is the operator's verdict, never a check's.
CHECK_STATUSES = tuple(status for status in Status if status is not Status.WAIVED)
