"""The JSON report's writer writes exactly what json.dumps(indent=2, ensure_ascii=False) writes of
the report made safe (lone surrogates escaped), only faster: any JSON value, and a real report."""
from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.reporters.json_report import _emit, render_json, report_data
from bench.sanitize import json_text


def _reference(value: Any) -> str:
    def scrub(v: Any) -> Any:
        if isinstance(v, str):
            return json_text(v)
        if isinstance(v, dict):
            return {json_text(str(k)): scrub(x) for k, x in v.items()}
        if isinstance(v, list):
            return [scrub(x) for x in v]
        return v

    return json.dumps(scrub(value), indent=2, ensure_ascii=False)


def _written(value: Any) -> str:
    out: list[str] = []
    _emit(value, "\n", out)
    return "".join(out)


_TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=()), max_size=12)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | _TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_TEXT, children, max_size=4),
    max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(_JSON)
def test_any_value_is_written_as_json_dumps_writes_it(value):
    assert _written(value) == _reference(value)


def test_a_report_is_written_as_json_dumps_writes_it(mixed_report):
    assert render_json(mixed_report) == _reference(report_data(mixed_report)) + "\n"
