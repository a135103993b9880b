"""The emulated Sage server's clock.

Sage stamps records with the server's local wall-clock time and stores no zone
(sage100.md §4 item 4), so the emulator keeps its own clock in a configurable
IANA zone.  DST fall-back therefore repeats an hour of stamps, as on a real server.

Dates are "YYYYMMDD" strings; times are decimal hours since midnight with five
decimals, e.g. "14.50278" (sage100.md §3).  The integer part is not padded
("9.25000"), so comparing TimeUpdated as text is as unsafe as on the real system.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

_TIME_DECIMALS = 5
_MAX_TIME = "23.99999"


@dataclass(frozen=True)
class SageStamp:
    """A date/time pair as Sage writes it into DateUpdated/TimeUpdated."""

    date: str
    time: str


def format_date(moment: dt.datetime | dt.date) -> str:
    """Render a date as Sage's 8-character "YYYYMMDD"."""
    return moment.strftime("%Y%m%d")


def format_hours(moment: dt.datetime) -> str:
    """Render wall-clock time as decimal hours since midnight ("14.50278")."""
    seconds = moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6
    text = f"{seconds / 3600:.{_TIME_DECIMALS}f}"
    # 23:59:59.99 would round up to "24.00000", which no real stamp contains.
    return _MAX_TIME if float(text) >= 24 else text


def parse_hours(text: str) -> float:
    """Parse a TimeUpdated value; blank stamps count as midnight."""
    stripped = text.strip()
    return float(stripped) if stripped else 0.0


def hours_to_time(hours: float) -> dt.time:
    """Decimal hours -> time of day, truncating like crgolden's parser."""
    total = int(hours * 3600)
    return dt.time(total // 3600 % 24, total // 60 % 60, total % 60)


class EmulatorClock:
    """Wall clock in one zone that tests can freeze, set and advance."""

    def __init__(self, tz: str = "UTC") -> None:
        self._zone = ZoneInfo(tz)
        self._offset = dt.timedelta(0)
        self._frozen: dt.datetime | None = None

    @property
    def tz_name(self) -> str:
        return self._zone.key

    @property
    def frozen(self) -> bool:
        return self._frozen is not None

    def now(self) -> dt.datetime:
        """Current emulated time as an aware datetime in the server zone."""
        utc = self._frozen if self._frozen is not None else dt.datetime.now(dt.UTC) + self._offset
        return utc.astimezone(self._zone)

    def stamp(self) -> SageStamp:
        moment = self.now()
        return SageStamp(format_date(moment), format_hours(moment))

    def freeze(self, at: dt.datetime | None = None) -> None:
        """Stop the clock at `at` (naive = server local time) or at the current time."""
        self._frozen = self._to_utc(at) if at is not None else self.now().astimezone(dt.UTC)

    def unfreeze(self) -> None:
        """Let the clock run again from where it was frozen."""
        if self._frozen is not None:
            self._offset = self._frozen - dt.datetime.now(dt.UTC)
            self._frozen = None

    def set(self, at: dt.datetime) -> None:
        """Jump to `at`; a frozen clock stays frozen, a running one keeps running."""
        target = self._to_utc(at)
        if self._frozen is not None:
            self._frozen = target
        else:
            self._offset = target - dt.datetime.now(dt.UTC)

    def advance(self, seconds: float) -> None:
        step = dt.timedelta(seconds=seconds)
        if self._frozen is not None:
            self._frozen += step
        else:
            self._offset += step

    def _to_utc(self, at: dt.datetime) -> dt.datetime:
        aware = at if at.tzinfo is not None else at.replace(tzinfo=self._zone)
        return aware.astimezone(dt.UTC)
