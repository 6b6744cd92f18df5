"""Budget windows: `day` and `month` (UTC calendar) and `rolling_24h` (96 buckets of 15 min).

A window is described to a backend as (current bucket id, number of live buckets): spend is
recorded in the current bucket and the window's spend is the sum of the live buckets. For
`day` and `month` there is one live bucket (the calendar day or month); `rolling_24h` keeps
96 quarter-hour buckets, so spend leaves the window between 24 h and 24 h 15 min after it
was recorded (`leaves_at`: when a bucket's spend is out, for a refusal's Retry-After).
"""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

WindowKind = Literal["day", "month", "rolling_24h"]

DAY = 86_400
ROLLING_BUCKET = 900
ROLLING_BUCKETS = DAY // ROLLING_BUCKET


@dataclass(frozen=True, slots=True)
class Span:
    bucket: int  # id of the bucket `now` falls in
    buckets: int  # how many buckets (the current one included) are in the window
    resets_at: float  # epoch seconds when the oldest live spend leaves the window
    ttl: int  # seconds a bucket must be kept


@dataclass(frozen=True, slots=True)
class Window:
    kind: WindowKind

    def span(self, now: float | None = None) -> Span:
        t = time.time() if now is None else now
        if self.kind == "day":
            day = int(t // DAY)
            return Span(day, 1, float((day + 1) * DAY), 2 * DAY)
        if self.kind == "month":
            d = datetime.fromtimestamp(t, UTC)
            year, month = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
            reset = calendar.timegm((year, month, 1, 0, 0, 0))
            return Span(d.year * 12 + d.month - 1, 1, float(reset), 33 * DAY)
        bucket = int(t // ROLLING_BUCKET)
        return Span(bucket, ROLLING_BUCKETS, float((bucket + 1) * ROLLING_BUCKET), DAY + 3600)

    def leaves_at(self, bucket: int) -> float:
        """Epoch seconds when the spend recorded in `bucket` leaves the window."""
        if self.kind == "day":
            return float((bucket + 1) * DAY)
        if self.kind == "month":
            year, month = divmod(bucket + 1, 12)
            return float(calendar.timegm((year, month + 1, 1, 0, 0, 0)))
        return float((bucket + ROLLING_BUCKETS) * ROLLING_BUCKET)
