"""Chart geometry for the run report: bars and lines laid out in SVG user units.

Only numbers and the caller's strings come out of here; the report template draws them, so
that every string from the web is escaped in one place (Jinja2's autoescaping), never here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH = 680  # every chart's viewBox width; the page scales it to the column
LABEL_WIDTH = 230  # the label column of a bar chart
VALUE_WIDTH = 90  # room after the longest bar for its value
ROW = 22  # one bar's row height
LABEL_CHARS = 34  # what fits in LABEL_WIDTH at the report's font size
MAX_BARS = 20  # more categories than this are summed into one "other" bar

# Status colours by class: a reader sees the errors before reading a number.
_STATUS_COLOURS = {"2": "#3a7d44", "3": "#3b6ea5", "4": "#d08c2c", "5": "#b8413a"}
BAR_COLOUR = "#4a6fa5"
OTHER_COLOUR = "#9aa5b1"


@dataclass(frozen=True, slots=True)
class Bar:
    label: str  # the whole label (tooltip and data-label)
    short: str  # the label as drawn, cut to fit
    value: float
    shown: str  # the value as a person reads it
    y: float
    width: float
    colour: str
    other: int = 0  # how many categories an "other" bar sums; 0 for a real one


@dataclass(frozen=True, slots=True)
class BarChart:
    name: str  # data-chart, what tests and readers look charts up by
    bars: list[Bar]
    height: float
    total: float

    @property
    def label_width(self) -> int:
        return LABEL_WIDTH

    @property
    def bar_x(self) -> int:
        return LABEL_WIDTH + 6


def bar_chart(
    name: str,
    items: Sequence[tuple[str, float]],
    *,
    shown: Callable[[float], str] = lambda v: f"{v:,.0f}",
    colour: Callable[[str], str] = lambda _: BAR_COLOUR,
    sort: bool = True,
    limit: int = MAX_BARS,
) -> BarChart:
    """Horizontal bars, largest first unless *sort* is false; past *limit* bars the tail is one
    "other" bar, so the chart's bars always sum to the items' total."""
    rows = sorted(items, key=lambda item: (-item[1], item[0])) if sort else list(items)
    tail = rows[limit - 1 :] if len(rows) > limit else []
    rows = rows[: len(rows) - len(tail)]
    largest = max([value for _, value in rows] + [sum(v for _, v in tail), 0])
    span = WIDTH - LABEL_WIDTH - 6 - VALUE_WIDTH
    bars = []
    for position, (label, value) in enumerate(rows):
        bars.append(
            Bar(
                label,
                _cut(label),
                value,
                shown(value),
                position * ROW,
                _length(value, largest, span),
                colour(label),
            )
        )
    if tail:
        rest = sum(value for _, value in tail)
        label = f"other ({len(tail)} more)"
        bars.append(
            Bar(
                label,
                label,
                rest,
                shown(rest),
                len(rows) * ROW,
                _length(rest, largest, span),
                OTHER_COLOUR,
                len(tail),
            )
        )
    total = sum(value for _, value in items)
    return BarChart(name, bars, len(bars) * ROW, total)


def status_colour(status: str) -> str:
    return _STATUS_COLOURS.get(status[:1], OTHER_COLOUR)


def _length(value: float, largest: float, span: float) -> float:
    if largest <= 0 or value <= 0:
        return 0.0
    # A bar of a small but real value stays visible (and hoverable) next to a huge one.
    return round(max(span * value / largest, 2.0), 1)


def _cut(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


@dataclass(frozen=True, slots=True)
class Point:
    t: float  # seconds since the run started
    value: float
    extra: float  # a second figure shown in the tooltip (bytes so far)
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class Tick:
    at: float  # position along its axis, in user units
    text: str


@dataclass(frozen=True, slots=True)
class LineChart:
    name: str
    points: list[Point]
    line: str  # the SVG path of the line
    area: str  # the same line closed down to the x axis
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    left: int
    top: int
    right: int
    bottom: int
    height: int


def line_chart(
    name: str,
    samples: Sequence[tuple[float, float, float]],
    *,
    height: int = 240,
    shown_t: Callable[[float], str] | None = None,
) -> LineChart:
    """A line over (t, value, extra) samples sorted by t, with three ticks per axis."""
    left, right, top, bottom = 56, WIDTH - 16, 12, height - 28
    t_max = max([t for t, _, _ in samples] + [0.0])
    if shown_t is None:
        # A short run's mid tick would otherwise read "0 s" between "0 s" and "1 s".
        shown_t = (lambda t: f"{t:.1f} s") if t_max < 10 else (lambda t: f"{t:,.0f} s")
    v_max = max([v for _, v, _ in samples] + [0.0])
    t_span, v_span = t_max or 1.0, v_max or 1.0  # one sample, or all zero: a flat line

    def x(t: float) -> float:
        return round(left + (right - left) * t / t_span, 1)

    def y(v: float) -> float:
        return round(bottom - (bottom - top) * v / v_span, 1)

    points = [Point(t, v, e, x(t), y(v)) for t, v, e in samples]
    line = " ".join(f"{'M' if i == 0 else 'L'}{p.x},{p.y}" for i, p in enumerate(points))
    area = f"{line} L{points[-1].x},{bottom} L{points[0].x},{bottom} Z" if points else ""
    thirds = (0.0, 0.5, 1.0)
    return LineChart(
        name,
        points,
        line,
        area,
        [Tick(x(t_span * f), shown_t(t_span * f if t_max else 0)) for f in thirds],
        [Tick(y(v_span * f), f"{(v_span * f if v_max else 0):,.0f}") for f in thirds],
        left,
        top,
        right,
        bottom,
        height,
    )


def human_bytes(n: float) -> str:
    """Bytes in SI units, as the crawl command prints sizes (MB = 10^6 bytes); the report and
    `archiver status` print them so."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")
