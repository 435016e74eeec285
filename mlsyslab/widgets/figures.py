"""bqplot figures laid out so that no text overlaps or leaves the figure.

Every tick value is chosen here (:func:`~mlsyslab.widgets.style.log_ticks`,
:func:`~mlsyslab.widgets.style.linear_ticks`), so the widest tick label is known before the
browser draws it and the margins and the axis-label offsets are sized from it. Keys (legends)
are HTML under the figure, never over the data. Point labels are placed by :func:`place_labels`,
which tries a few positions around each point and keeps the first that collides with nothing.
"""

from __future__ import annotations

import math

import bqplot as bq
import ipywidgets as w

from .style import CHAR_PX, FOREGROUND, TICK_FORMAT, text_px, tick_text

FONT_PX = 12  # bqplot's tick and label font
TITLE_PX = 16
LINE_PX = 16  # height of one line of 12 px text, with room


def figure(marks, axes, title, width, height, margin):
    """A fixed-size figure without a bqplot legend (keys are HTML, outside the data)."""
    return bq.Figure(marks=marks, axes=axes, title=title, fig_margin=dict(margin), animation_duration=0,
                     display_toolbar=False,
                     padding_y=0.0, layout=w.Layout(width=f"{width}px", height=f"{height}px", flex="0 0 auto"),
                     min_aspect_ratio=0.01, max_aspect_ratio=100)


def y_label_offset(ticks, fmt=tick_text) -> tuple[int, int]:
    """For a left axis with these ticks: (label_offset, left margin) so that the rotated axis
    label clears the widest tick label and stays inside the figure."""
    widest = max((text_px(fmt(t)) for t in ticks), default=0)
    offset = int(math.ceil(widest + 8 + LINE_PX / 2 + 6))  # ticks end 8 px left of the axis
    return offset, offset + LINE_PX // 2 + 6


def set_y_axis(axis, ticks, label, fmt=tick_text, figure_=None, tick_format=TICK_FORMAT):
    """Give ``axis`` these ticks and this label; widen ``figure_``'s left margin to fit them."""
    offset, left = y_label_offset(ticks, fmt)
    with axis.hold_sync():
        axis.tick_values = list(ticks)
        axis.tick_format = tick_format
        axis.label = label
        axis.label_offset = f"{offset}px"
    if figure_ is not None and figure_.fig_margin.get("left") != left:
        figure_.fig_margin = {**figure_.fig_margin, "left": left}


def x_ticks_fit(ticks, plot_width, scale_pos, fmt=tick_text, gap=10, room=20) -> bool:
    """True when the tick labels at ``scale_pos(t)`` (pixels) leave ``gap`` px between them and
    stick out of the plot area by at most ``room`` px (the margin)."""
    xs = [(scale_pos(t), text_px(fmt(t))) for t in ticks]
    for (x0, w0), (x1, w1) in zip(xs, xs[1:]):
        if x1 - w1 / 2 - (x0 + w0 / 2) < gap:
            return False
    return all(x - wd / 2 >= -room and x + wd / 2 <= plot_width + room for x, wd in xs)


def thin_ticks(ticks, plot_width, scale_pos, fmt=tick_text, room=20):
    """Drop every 2nd, 3rd ... tick until the labels fit side by side."""
    for step in range(1, len(ticks) + 1):
        sub = list(ticks[::step])
        if x_ticks_fit(sub, plot_width, scale_pos, fmt, room=room):
            return sub
    return list(ticks[:1])


def log_pos(lo, hi, width):
    """Pixel position on a log axis from ``lo`` to ``hi`` drawn over ``width`` px."""
    a, b = math.log10(lo), math.log10(hi)
    return lambda v: (math.log10(v) - a) / (b - a) * width


def lin_pos(lo, hi, width):
    return lambda v: (v - lo) / (hi - lo) * width


def place_labels(points, texts, width, height, obstacles=(), marker_px=7, char_px=CHAR_PX):
    """Choose a position for each text next to its point (pixels in the plot area, y down).

    Returns ``[(dx, dy, align) or None]``: the offset of the text's anchor from the point and its
    ``text-anchor``; ``None`` where no position is free (the readout table still names it).
    ``obstacles`` are boxes ``(x0, y0, x1, y1)`` the text must avoid (other markers).
    """
    taken = [tuple(o) for o in obstacles]
    taken += [(x - marker_px, y - marker_px, x + marker_px, y + marker_px) for x, y in points]
    out = []
    half_h = 8  # dominant-baseline: central; 12 px text spans about +-7 px
    for (x, y), text in zip(points, texts):
        tw = len(text) * char_px
        choice = None
        for dx, dy, align in ((marker_px + 4, 0, "start"), (-marker_px - 4, 0, "end"), (0, -marker_px - 9, "middle"),
                              (0, marker_px + 9, "middle"), (marker_px + 2, -marker_px - 7, "start"),
                              (-marker_px - 2, -marker_px - 7, "end"), (marker_px + 2, marker_px + 7, "start"),
                              (-marker_px - 2, marker_px + 7, "end")):
            ax = x + dx
            x0 = ax if align == "start" else ax - tw if align == "end" else ax - tw / 2
            box = (x0 - 1, y + dy - half_h, x0 + tw + 1, y + dy + half_h)
            if box[0] < 0 or box[2] > width or box[1] < 0 or box[3] > height:
                continue
            if any(box[0] < t[2] and t[0] < box[2] and box[1] < t[3] and t[1] < box[3] for t in taken):
                continue
            choice = (dx, dy, align)
            taken.append(box)
            break
        out.append(choice)
    return out


def point_labels(points_px, texts, data_xy, scales, width, height, obstacles=(), color=FOREGROUND):
    """bqplot ``Label`` marks (one per placed text) for :func:`place_labels`' choices."""
    marks = []
    for choice, text, (x, y) in zip(place_labels(points_px, texts, width, height, obstacles), texts, data_xy):
        if choice is None:
            continue
        dx, dy, align = choice
        marks.append(bq.Label(x=[x], y=[y], text=[text], scales=scales, x_offset=int(dx), y_offset=int(dy),
                              align=align, default_size=FONT_PX, font_weight="bold", colors=[color],
                              apply_clip=False))
    return marks
