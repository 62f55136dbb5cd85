"""The GPU backend's ISO 8601 parse (pipelines/backend/timestamps.py), run on pandas: the same column operations
as on cuDF, checked against pandas' own ISO 8601 parser (the CPU backend's to_datetime)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.backend.cpu import cpu_backend
from pipelines.backend.timestamps import parse_iso8601


def _both(values: list[str | None]) -> tuple[pd.Series, pd.Series]:
    series = pd.Series(values, dtype="str")
    expected = cpu_backend().to_datetime(series).astype("datetime64[us]")
    return parse_iso8601(series), expected


def test_each_shape_the_loader_accepts_and_what_names_no_real_time():
    values = [
        "2024-01-31",
        " 2024-01-31T09:30:00+02:00 ",
        "2024-01-31 09:30",
        "2024-02-29 23:59:59.5Z",
        "2000-03-01T00:00-0530",
        "1969-12-31T23:59:59.123456",
        "2024-01-31T09:30:00+01",
        "1600-02-29",
        None,
        "",
        "x",
        "2024-02-30",
        "2023-02-29",
        "1900-02-29",
        "2024-13-01",
        "2024-01-31T24:00",
        "2024-01-31T09:60",
        "2024-01-31T09:30:61",
        "2024/01/31",
        "2024-01-31T09:30+24:00",
    ]
    parsed, expected = _both(values)
    assert parsed.dtype == "datetime64[us]"
    assert parsed.isna().tolist() == [False] * 8 + [True] * 12
    pd.testing.assert_series_equal(parsed, expected)


_timestamps = st.builds(
    lambda stamp, shape, fraction, zone: stamp.strftime(shape) + fraction + zone,
    st.datetimes(min_value=datetime(1700, 1, 1), max_value=datetime(2200, 12, 31)),
    st.sampled_from(["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"]),
    st.sampled_from(["", ".5", ".123", ".123456"]),
    st.sampled_from(["", "Z", "+02:00", "-05:30", "+0100", "-11"]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_timestamps | st.text(alphabet="0123456789-:T .Z+", max_size=25), min_size=1, max_size=20))
def test_any_mix_of_timestamps_and_text_parses_as_pandas_does(values):
    values = [v for v in values if "." not in v or v.count(":") >= 2]  # a fraction only after seconds
    parsed, expected = _both(values)
    pd.testing.assert_series_equal(parsed, expected)
