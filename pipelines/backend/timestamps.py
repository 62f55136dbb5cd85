"""ISO 8601 text to datetimes by arithmetic, for frames whose library cannot parse it leniently.

cuDF's `to_datetime` refuses `errors="coerce"` on a column and infers one format from the first value, so the GPU
backend parses here instead: one regular expression splits each value into its fields (`str.extract`), the
fields become integers, and the date becomes days since 1970 by the civil-calendar arithmetic of Howard Hinnant's
`days_from_civil`. Every step is a column operation that pandas and cuDF share, so the same function runs on the
device and is checked on the CPU against pandas' own ISO 8601 parser (tests/pipelines/backend/test_timestamps.py).

What it accepts is what the CSV loader looks for (pipelines.data.timestamps): 2024-01-31, a T or a space, hours
and minutes, seconds, a fraction (read to the microsecond), then Z or an offset (+02, +0200, +02:00), converted to
UTC. A value that is not such a timestamp, or names no real date or time (2024-02-30, 24:00), becomes null.
"""

from __future__ import annotations

from typing import Any

ISO_8601 = (
    r"^(\d{4})-(\d{2})-(\d{2})"  # year, month, day
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"  # hours, minutes, seconds, fraction
    r"(?:(Z)|([+-])(\d{2})(?::?(\d{2}))?)?)?$"  # after a time: Z, or the offset's sign, hours and minutes
)
MICROSECONDS = {"day": 86_400_000_000, "hour": 3_600_000_000, "minute": 60_000_000, "second": 1_000_000}


def parse_iso8601(series: Any) -> Any:
    """A text column (pandas or cuDF) as datetime64[us], timezone-naive in UTC; null where a value is no ISO 8601
    date or timestamp."""
    fields = series.str.strip().str.extract(ISO_8601)
    matched = fields[0].notna()

    def number(index: int, default: str = "0") -> Any:
        return fields[index].fillna(default).astype("int64")

    year, month, day = number(0, "1970"), number(1, "1"), number(2, "1")
    hour, minute, second = number(3), number(4), number(5)
    fraction = number_of_microseconds(fields[6])
    sign = (fields[8].fillna("+") == "+").astype("int64") * 2 - 1
    offset_hour, offset_minute = number(9), number(10)
    valid = (
        matched
        & (month >= 1)
        & (month <= 12)
        & (day >= 1)
        & (day <= days_in_month(year, month))
        & (hour <= 23)
        & (minute <= 59)
        & (second <= 59)
        & (offset_hour <= 23)
        & (offset_minute <= 59)
    )
    offset = sign * (offset_hour * MICROSECONDS["hour"] + offset_minute * MICROSECONDS["minute"])
    micros = (
        days_from_civil(year, month, day) * MICROSECONDS["day"]
        + hour * MICROSECONDS["hour"]
        + minute * MICROSECONDS["minute"]
        + second * MICROSECONDS["second"]
        + fraction
        - offset
    )
    return micros.astype("datetime64[us]").where(valid)


def number_of_microseconds(fraction: Any) -> Any:
    """Seconds' fraction digits ("5", "123456789") as whole microseconds (int64); 0 where there are none."""
    digits = fraction.fillna("").str.slice(0, 6).str.pad(6, side="right", fillchar="0")
    return digits.astype("int64")


def days_in_month(year: Any, month: Any) -> Any:
    """28 to 31 by the Gregorian calendar."""
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    long_month = (month + (month >= 8).astype("int64")) % 2 == 1  # 31 days: Jan, Mar, May, Jul, Aug, Oct, Dec
    days = 30 + long_month.astype("int64")
    return days.where(month != 2, 28 + leap.astype("int64"))


def days_from_civil(year: Any, month: Any, day: Any) -> Any:
    """Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's algorithm; floor division throughout)."""
    year = year - (month <= 2).astype("int64")
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468
