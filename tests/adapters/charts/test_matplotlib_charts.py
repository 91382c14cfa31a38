"""MatplotlibChartRenderer: real PNGs of test results and loss curves, drawn off the event loop."""

from __future__ import annotations

import io
import logging
import struct
import sys
import threading
from typing import Any

import pytest
from PIL import Image

from trainerbot.adapters.charts import MatplotlibChartRenderer, matplotlib_charts
from trainerbot.core.entities import NEGATIVE, POSITIVE, Dataset, Example, LossPoint, Task
from trainerbot.core.errors import CapabilityUnavailable, InvalidInput, ServiceError
from trainerbot.core.evaluation import EvaluationReport, Prediction, evaluate

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header (its first chunk must be IHDR)."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", data[16:24])
    assert data[-8:-4] == b"IEND", "the PNG is cut short"
    return width, height


def colours(data: bytes) -> int:
    """How many different colours the image has (a blank image has one)."""
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "PNG"
    found = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert found is not None
    return len(found)


def classification(model: str, answers: list[str], labels: tuple[str, ...]) -> EvaluationReport:
    examples = tuple(
        Example.single_turn(f"text {i}", labels[i % len(labels)]) for i in range(len(answers))
    )
    predictions = [Prediction(e, a) for e, a in zip(examples, answers, strict=True)]
    return evaluate(model, Dataset("reviews:test", Task.CLASSIFICATION, examples), predictions)


def chat(model: str, answers: list[str]) -> EvaluationReport:
    examples = tuple(Example.single_turn(f"q{i}", f"a{i}") for i in range(len(answers)))
    predictions = [Prediction(e, a) for e, a in zip(examples, answers, strict=True)]
    return evaluate(model, Dataset("qa:test", Task.CHAT, examples), predictions)


LABELS = (NEGATIVE, POSITIVE)
TRAINED = classification("ft:clf", ["negative", "positive", "negative", "maybe"], LABELS)
BASE = classification("base", ["positive"] * 4, LABELS)
LOSS = [LossPoint(step, 2.0 / step, 2.5 / step if step % 5 == 0 else None) for step in range(1, 41)]


@pytest.fixture
def sut() -> Any:
    renderer = MatplotlibChartRenderer()
    yield renderer
    renderer.close()


async def test_a_comparison_of_two_classifiers_is_a_wide_png_with_three_panels(sut: Any) -> None:
    alone = await sut.render_comparison(TRAINED)
    compared = await sut.render_comparison(TRAINED, BASE)

    alone_width, alone_height = png_size(alone)
    width, height = png_size(compared)
    assert 600 <= alone_width < width <= 2500
    assert 300 <= height <= 1200
    assert 300 <= alone_height <= 1200
    assert colours(compared) > 20  # bars, a heat map and text, not a blank canvas


async def test_a_chat_report_is_drawn_as_bars_alone(sut: Any) -> None:
    data = await sut.render_comparison(chat("ft:chat", ["a0", "nope", "a2"]))

    width, height = png_size(data)
    assert 400 <= width <= 1200
    assert 300 <= height <= 800
    assert colours(data) > 10


async def test_different_results_draw_different_images(sut: Any) -> None:
    better = classification("ft:clf", ["negative", "positive", "negative", "positive"], LABELS)

    first = await sut.render_comparison(TRAINED, BASE)
    again = await sut.render_comparison(TRAINED, BASE)
    other = await sut.render_comparison(better, BASE)
    chats = {
        await sut.render_comparison(chat("m", ["a0", "a1"])),
        await sut.render_comparison(chat("m", ["a0", "x"])),
    }

    assert first == again, "the same results draw the same image"
    assert first != other
    assert len(chats) == 2


async def test_text_with_dollar_signs_and_many_labels_is_drawn(sut: Any) -> None:
    labels = tuple(f"$label {i}$" for i in range(25))
    report = classification("ft:$weird$ model", [labels[i % 7] for i in range(50)], labels)

    data = await sut.render_comparison(report)

    assert png_size(data)[0] > 600


async def test_a_loss_curve_is_a_png_and_depends_on_the_points(sut: Any) -> None:
    curve = await sut.render_loss_curve("ft:x", LOSS)
    train_only = await sut.render_loss_curve("ft:x", [LossPoint(1, 1.0), LossPoint(2, 0.5)])

    width, height = png_size(curve)
    assert (600, 300) <= (width, height) <= (1600, 1000)
    assert colours(curve) > 10
    assert curve != train_only


async def test_a_loss_curve_without_any_loss_is_refused(sut: Any) -> None:
    with pytest.raises(InvalidInput, match="no losses to draw"):
        await sut.render_loss_curve("ft:x", [LossPoint(1), LossPoint(2)])
    with pytest.raises(InvalidInput):
        await sut.render_loss_curve("ft:x", [])


async def test_a_baseline_over_other_examples_is_a_callers_mistake(sut: Any) -> None:
    with pytest.raises(ValueError, match="not over the same examples"):
        await sut.render_comparison(TRAINED, chat("m", ["a0"]))


async def test_drawing_happens_in_the_renderers_thread_and_leaves_the_loop_free(
    sut: Any, monkeypatch: pytest.MonkeyPatch, event_loop_watch: Any
) -> None:
    threads: list[str] = []
    png = matplotlib_charts._png

    def spy(figure: Any) -> bytes:
        threads.append(threading.current_thread().name)
        return png(figure)

    monkeypatch.setattr(matplotlib_charts, "_png", spy)

    async with event_loop_watch(tick=0.005) as watch:
        await sut.render_comparison(TRAINED, BASE)
        await sut.render_loss_curve("ft:x", LOSS)

    assert len(threads) == 2
    assert all(name.startswith("charts") for name in threads)
    assert threading.current_thread().name not in threads
    assert watch.ticks > 0
    assert watch.max_gap < 0.25


async def test_without_matplotlib_charts_are_unavailable(
    sut: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)

    with pytest.raises(CapabilityUnavailable, match="pip install matplotlib"):
        await sut.render_comparison(TRAINED)


async def test_a_drawing_that_breaks_is_one_line_and_the_details_are_logged(
    sut: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(figure: Any) -> bytes:
        raise RuntimeError("the secret internals of the failure")

    monkeypatch.setattr(matplotlib_charts, "_png", broken)

    with caplog.at_level(logging.ERROR), pytest.raises(ServiceError) as caught:
        await sut.render_loss_curve("ft:x", LOSS)

    assert str(caught.value) == "The chart could not be drawn; the details are in the log."
    assert "the secret internals" in caplog.text


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="dpi"):
        MatplotlibChartRenderer(dpi=1)
    with pytest.raises(ValueError, match="max_workers"):
        MatplotlibChartRenderer(max_workers=0)
