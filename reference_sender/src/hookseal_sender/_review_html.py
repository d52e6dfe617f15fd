"""The health review as one HTML page: matplotlib charts as inline SVG images, no links out."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional

import jinja2

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .review import Review

_STYLE: Any = {  # Any: matplotlib types rcParams keys as literals
    "svg.fonttype": "path",        # text as shapes: no font needed to view it
    "svg.hashsalt": "hookseal",    # the same review renders the same bytes
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}
_BLUE, _RED, _GREY = "#3f51b5", "#c62828", "#9e9e9e"


def _figure() -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 2.6), layout="constrained")
    return fig, fig.add_subplot()


def _svg(fig: Figure) -> str:
    """A data: URI of the figure as SVG (an <img> keeps each chart's ids to itself)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _dates(starts: Sequence[float]) -> list[Any]:
    import datetime

    return [datetime.datetime.fromtimestamp(s, datetime.timezone.utc) for s in starts]


def _date_axis(ax: Axes) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


def _line(starts: Sequence[float], values: Sequence[Optional[float]], title: str,
          ylabel: str, percent: bool = False, trend: Optional[float] = None) -> str:
    from matplotlib.ticker import PercentFormatter

    fig, ax = _figure()
    points = [(d, v) for d, v in zip(_dates(starts), values) if v is not None]
    if points:
        ax.plot([d for d, _ in points], [v for _, v in points], color=_BLUE, marker="o",
                markersize=2.5, linewidth=1.2)
        if trend is not None and len(points) > 1:
            xs = [s / 86400 for s, v in zip(starts, values) if v is not None]
            ys = [v for v in values if v is not None]
            mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
            per_day = trend / 7
            ax.plot([points[0][0], points[-1][0]],
                    [my + per_day * (xs[0] - mx), my + per_day * (xs[-1] - mx)],
                    color=_RED, linestyle="--", linewidth=1, label="trend")
            ax.legend(loc="lower left", frameon=False)
    else:
        ax.text(0.5, 0.5, "no data in the period", ha="center", va="center",
                transform=ax.transAxes, color=_GREY)
    _date_axis(ax)
    if percent:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title(title, loc="left")
    ax.set_ylabel(ylabel)
    return _svg(fig)


def _bars(starts: Sequence[float], values: Sequence[int], title: str) -> str:
    fig, ax = _figure()
    ax.bar(_dates(starts), values, width=0.8, color=_BLUE)
    _date_axis(ax)
    ax.set_title(title, loc="left")
    ax.set_ylabel("deliveries")
    return _svg(fig)


def _barh(labels: Sequence[str], values: Sequence[int], title: str) -> str:
    fig, ax = _figure()
    if labels:
        ax.barh(list(reversed(labels)), list(reversed(values)), color=_BLUE)
    else:
        ax.text(0.5, 0.5, "no events in the period", ha="center", va="center",
                transform=ax.transAxes, color=_GREY)
    ax.set_title(title, loc="left")
    ax.set_xlabel("events")
    return _svg(fig)


def _charts(review: Review) -> dict[str, str]:
    from matplotlib import rc_context

    starts = [d.start for d in review.days]
    top = review.event_types[:10]
    with rc_context(_STYLE):
        return {
            "volume": _bars(starts, [d.deliveries for d in review.days], "Deliveries per day"),
            "success": _line(starts, [d.first_success_rate for d in review.days],
                             "First-attempt success rate", "of first attempts", percent=True,
                             trend=review.success_trend),
            "latency": _line(starts, [d.p95_ms for d in review.days],
                             "p95 latency of answered attempts", "ms"),
            "dead": _line(starts, [d.dead_letter_rate for d in review.days],
                          "Dead-letter rate (by day created)", "of deliveries", percent=True),
            "types": _barh([e.type for e in top], [e.events for e in top],
                           "Highest-volume event types"),
        }


def _pct(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:.1%}"


def _ms(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


def _when(value: Optional[float]) -> str:
    return "—" if not value else time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(value))


def _day(value: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(value))


def _seconds(value: float) -> str:
    if value >= 3600:
        return f"{value / 3600:,.1f} h"
    if value >= 60:
        return f"{value / 60:,.1f} min"
    return f"{value:,.1f} s"


def _trend(value: Optional[float]) -> str:
    if value is None:
        return "no trend (under two days)"
    return f"{value * 100:+.2f} points a week"



_ENV = jinja2.Environment(loader=jinja2.PackageLoader("hookseal_sender", "templates"),
                          autoescape=True, undefined=jinja2.StrictUndefined)


def render(review: Review) -> str:
    """The review's HTML page (tenant ids and URLs escaped).

    Args:
        review: The review.

    Returns:
        The HTML.
    """
    page = _ENV.get_template("review.html")
    return page.render(r=review, charts=_charts(review), pct=_pct, ms=_ms, when=_when,
                       day=_day, seconds=_seconds, trend=_trend)
