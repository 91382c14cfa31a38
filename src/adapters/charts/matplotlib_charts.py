"""MatplotlibChartRenderer: test results and loss curves as PNG images, drawn with matplotlib.

Only the object-oriented API is used (``Figure`` on the Agg canvas, never pyplot), so drawing
touches no global state and needs no display. Drawing is CPU work: it runs in a small pool of
worker threads the renderer owns, which keeps the event loop free; matplotlib is imported there, on
first use, so starting trainerbot does not pay for it.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, ParamSpec

from trainerbot.core.entities import LossPoint, Task
from trainerbot.core.errors import CapabilityUnavailable, InvalidInput, ServiceError
from trainerbot.core.evaluation import (
    INVALID_OUTPUT,
    EvaluationReport,
    compare,
    metric_name,
)
from trainerbot.core.text import plural
from trainerbot.ports import ChartRenderer

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

P = ParamSpec("P")

NO_MATPLOTLIB = "Charts need matplotlib, which is not installed: pip install matplotlib."
DRAWING_FAILED = "The chart could not be drawn; the details are in the log."
NOTHING_TO_DRAW = "There are no losses to draw."

MODEL_COLOUR = "#3b6ea8"
BASELINE_COLOUR = "#b9b9b9"
TRAIN_COLOUR = "#3b6ea8"
VALID_COLOUR = "#d9822b"
NAME_CHARS = 40  # model names in titles and legends
LABEL_CHARS = 16  # labels on the confusion matrix's axes
MAX_ANNOTATED_LABELS = 20  # past this, the confusion matrix's cells carry no numbers


class MatplotlibChartRenderer(ChartRenderer):
    """Draws with matplotlib in ``max_workers`` threads of its own (``close()`` ends them).

    Missing matplotlib is ``CapabilityUnavailable``; anything else that goes wrong while drawing is
    logged with its traceback and answered as one ``ServiceError`` line.
    """

    def __init__(self, *, dpi: int = 100, max_workers: int = 1) -> None:
        if dpi < 10 or max_workers < 1:
            raise ValueError("dpi must be at least 10 and max_workers at least 1")
        self._dpi = dpi
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix="charts")

    async def render_comparison(
        self, report: EvaluationReport, baseline: EvaluationReport | None = None
    ) -> bytes:
        if baseline is not None:
            compare(report, baseline)  # the same examples, or ValueError (a caller's bug)
        return await self._run(_draw_comparison, report, baseline, self._dpi)

    async def render_loss_curve(self, model: str, points: Sequence[LossPoint]) -> bytes:
        if not any(p.train_loss is not None or p.valid_loss is not None for p in points):
            raise InvalidInput(NOTHING_TO_DRAW)
        return await self._run(_draw_loss_curve, model, tuple(points), self._dpi)

    def close(self) -> None:
        """Stop the worker threads (a drawing under way finishes first)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _run(self, draw: Callable[P, bytes], *args: P.args, **kwargs: P.kwargs) -> bytes:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, lambda: draw(*args, **kwargs))
        except ImportError as error:
            log.warning("matplotlib could not be imported: %s", error)
            raise CapabilityUnavailable(NO_MATPLOTLIB) from None
        except Exception:
            log.exception("drawing a chart failed")
            raise ServiceError(DRAWING_FAILED) from None


# --- drawing (runs in a worker thread) --------------------------------------------------------


def _figure(width: float, height: float, dpi: int) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _plain(text: str, limit: int = NAME_CHARS) -> str:
    """``text`` shortened, with ``$`` escaped: matplotlib reads ``$…$`` as mathematics."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return flat.replace("$", r"\$")


def _draw_comparison(
    report: EvaluationReport, baseline: EvaluationReport | None, dpi: int
) -> bytes:
    matrices = [report, baseline] if baseline is not None else [report]
    labelled = report.task is Task.CLASSIFICATION and bool(report.labels)
    side = min(2.5 + 0.45 * (len(report.labels) + 1), 9.0) if labelled else 0.0
    widths = [max(4.5, 1.6 * len(report.metrics) + 1.5)]
    if labelled:
        widths += [side] * len(matrices)
    figure = _figure(sum(widths), max(4.2, side * 0.9), dpi)
    axes = figure.subplots(1, len(widths), squeeze=False, width_ratios=widths)[0]
    _metric_bars(axes[0], report, baseline)
    if labelled:
        most = max(max(row.values(), default=0) for m in matrices for row in m.confusion.values())
        for ax, shown in zip(axes[1:], matrices, strict=True):
            _confusion_matrix(ax, shown, most)
    title = f"{_plain(report.model)} on {_plain(report.dataset_name)}"
    if baseline is not None:
        title = (
            f"{_plain(report.model)} vs {_plain(baseline.model)} on {_plain(report.dataset_name)}"
        )
    title += f" ({plural(report.count, 'example')})"
    if baseline is not None:
        comparison = compare(report, baseline)
        title += (
            f"\nbetter on {comparison.wins}, worse on {comparison.losses}, "
            f"same on {comparison.ties}"
        )
    figure.suptitle(title)
    return _png(figure)


def _metric_bars(ax: Axes, report: EvaluationReport, baseline: EvaluationReport | None) -> None:
    keys = list(report.metrics)
    if baseline is not None:
        keys = [key for key in keys if key in baseline.metrics]
    shown = [(report, MODEL_COLOUR)]
    if baseline is not None:
        shown.append((baseline, BASELINE_COLOUR))
    width = 0.8 / len(shown)
    for offset, (which, colour) in enumerate(shown):
        xs = [i - 0.4 + width * (offset + 0.5) for i in range(len(keys))]
        values = [which.metrics[key] for key in keys]
        ax.bar(xs, values, width, label=_plain(which.model), color=colour)
        tops = list(values)
        if "accuracy" in keys and which.accuracy_interval is not None:
            at = keys.index("accuracy")
            low, high = which.accuracy_interval
            value = which.metrics["accuracy"]
            ax.errorbar(
                [xs[at]],
                [value],
                yerr=[[max(0.0, value - low)], [max(0.0, high - value)]],
                fmt="none",
                ecolor="#333333",
                capsize=4,
            )
            tops[at] = max(value, high)
        for x, value, top in zip(xs, values, tops, strict=True):
            ax.text(x, top + 0.02, f"{value:.2f}", ha="center", va="bottom", fontsize=9)
    ax.set_xticks(range(len(keys)), [metric_name(key) for key in keys])
    ax.set_ylim(0.0, 1.3)
    ax.set_yticks([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_ylabel("score")
    ax.set_title("metrics" + (" (accuracy with its 95% interval)" if "accuracy" in keys else ""))
    ax.legend(loc="upper center", ncols=len(shown), fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


def _confusion_matrix(ax: Axes, report: EvaluationReport, most: int) -> None:
    """``report``'s confusion matrix as a heat map; ``most`` is the top of the colour scale, the
    same for every matrix of the chart so that their colours compare."""
    rows = list(report.labels)
    columns = [*rows, INVALID_OUTPUT]
    counts = [[report.confusion[row].get(column, 0) for column in columns] for row in rows]
    image = ax.imshow(counts, cmap="Blues", aspect="auto", vmin=0, vmax=max(most, 1))
    if len(rows) <= MAX_ANNOTATED_LABELS:
        for r, row in enumerate(counts):
            for c, count in enumerate(row):
                colour = "white" if count > most / 2 else "black"
                ax.text(c, r, str(count), ha="center", va="center", color=colour, fontsize=9)
    else:
        ax.figure.colorbar(image, ax=ax, shrink=0.8)
    ax.set_xticks(
        range(len(columns)),
        [_plain(column, LABEL_CHARS) for column in columns],
        rotation=45,
        ha="right",
    )
    ax.set_yticks(range(len(rows)), [_plain(row, LABEL_CHARS) for row in rows])
    ax.set_xlabel("answered")
    ax.set_ylabel("expected")
    ax.set_title(f"confusion: {_plain(report.model, 24)}", fontsize=10)


def _draw_loss_curve(model: str, points: tuple[LossPoint, ...], dpi: int) -> bytes:
    figure = _figure(8.0, 4.5, dpi)
    ax = figure.subplots()
    ordered = sorted(points, key=lambda point: point.step)
    for name, colour, values in (
        ("training loss", TRAIN_COLOUR, [(p.step, p.train_loss) for p in ordered]),
        ("validation loss", VALID_COLOUR, [(p.step, p.valid_loss) for p in ordered]),
    ):
        known = [(step, loss) for step, loss in values if loss is not None]
        if known:
            steps, losses = zip(*known, strict=True)
            marker = "o" if len(known) <= 30 else None
            ax.plot(steps, losses, label=name, color=colour, marker=marker, markersize=4)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(f"{_plain(model)}: loss by training step")
    ax.legend()
    ax.grid(alpha=0.3)
    return _png(figure)
