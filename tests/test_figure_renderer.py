"""The figure renderer's drawing aids: arrow placement, bands, hands toward the viewer, carried
bags, beds seen from above, guide lines over the body. Each is checked in the SVG it writes."""

from __future__ import annotations

import math
import re
from xml.etree import ElementTree

from portal.exercises.figures.figure import BAND, PROP_FILL
from portal.exercises.figures.scene import render_movement

SVG_NS = "{http://www.w3.org/2000/svg}"
LYING = {"trunk": 180, "hip": [50, 50], "knee": [100, 100], "ankle": [-40, -40], "shoulder": [-6, -6]}
STANDING = {"trunk": 90, "shoulder": [8, 8]}


def _root(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)


def _arrow_path(svg: str) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float]]:
    """Start, control and end point of the arrow (SVG coordinates, y down)."""
    match = re.search(
        r'<path d="M([-\d.]+),([-\d.]+) Q([-\d.]+),([-\d.]+) ([-\d.]+),([-\d.]+)" fill="none" stroke="#c2410c"', svg
    )
    assert match, "no arrow"
    x1, y1, qx, qy, x2, y2 = map(float, match.groups())
    return (x1, y1), (qx, qy), (x2, y2)


def _bridge(**extra) -> dict:
    # The hips lift a little: the tracked pelvis moves up, the arrow is short.
    return {
        "support": "floor",
        "track": "pelvis",
        "anchor": "near_toe",
        "start": dict(LYING),
        "end": {"trunk": 190, "hip": [20, 20], "knee": [85, 85]},
        **extra,
    }


def test_a_chosen_arrow_side_sets_the_arrow_above_the_body():
    default = _arrow_path(render_movement(_bridge()))
    above = _arrow_path(render_movement(_bridge(arrow_side=[0, 1])))
    # y runs down in SVG: the chosen side "up" puts the whole arrow higher than the default.
    assert max(p[1] for p in above) < min(p[1] for p in default) + 1
    assert above[1][1] < above[0][1] and above[1][1] < above[2][1]  # bulging upward, away from the body


def test_an_arrow_length_draws_a_short_move_with_a_longer_arrow_the_same_way():
    short = _arrow_path(render_movement(_bridge(arrow_side=[0, 1])))
    longer = _arrow_path(render_movement(_bridge(arrow_side=[0, 1], arrow_length=40)))
    (x1, y1), _c, (x2, y2) = longer
    assert math.dist((x1, y1), (x2, y2)) >= 40 - 0.5 > math.dist(short[0], short[2])
    assert (x2 - x1) * (short[2][0] - short[0][0]) + (y2 - y1) * (short[2][1] - short[0][1]) > 0  # same direction


def test_a_short_arrow_still_points_from_start_to_end():
    spec = {
        "support": "floor",
        "track": "pelvis",
        "start": {"trunk": 180},
        "end": {"trunk": 180},
        "lift": [0, 9],  # the hips rise by 9 units only
    }
    (x1, y1), _control, (x2, y2) = _arrow_path(render_movement(spec))
    assert y2 < y1  # it still points up (SVG y down), never turned round by trimming its ends


def test_a_band_is_tied_to_a_knotted_anchor_and_drawn_over_the_body():
    spec = {
        "support": "standing",
        "view": "front",
        "props": [{"type": "band", "x": -70, "y": 110}],
        "start": dict(STANDING),
        "end": {"shoulder": [-30, -30], "elbow": [-26, -26]},
    }
    svg = render_movement(spec)
    knot = f'<circle cx="-70" cy="-110" r="5" fill="{BAND}"/>'
    assert knot in svg
    band = svg.index(f'stroke="{BAND}"')
    figure = svg.index('<g class="f1">')  # the moving figure's root group
    assert figure < band  # painted after the figure: the band runs in front of the trunk
    _root(svg)


def test_hands_reaching_toward_the_viewer_grow_and_the_growth_is_animated():
    spec = {
        "support": "standing",
        "view": "front",
        "start": dict(STANDING),
        "end": {"shoulder": [-30, -30], "scale": {"hand": [1.5, 1.5]}},
    }
    style = _root(render_movement(spec)).find(f"{SVG_NS}style").text
    # Every pose names the hand's scale, so the browser interpolates 1 -> 1.5 instead of jumping.
    assert re.search(r"\{transform:translate\(25px,0px\) scale\(1\)\}", style)
    assert re.search(r"\.f\d+\{transform:translate\(25px,0px\) scale\(1\.5\)\}", style)  # the still, end pose
    plain = _root(render_movement({"support": "standing", "start": dict(STANDING)})).find(f"{SVG_NS}style").text
    assert "scale(" not in plain  # hands of the usual size carry no scale at all


def test_a_suitcase_hangs_from_the_hand_that_carries_it():
    spec = {"support": "standing", "props": [{"type": "suitcase", "side": "near"}], "start": dict(STANDING)}
    svg = render_movement(spec)
    hand_group = re.search(r'<circle r="4.2" fill="#0b5563"/>(.*?)</g>', svg).group(1)
    assert '<rect x="4" y="-15" width="24" height="30"' in hand_group  # carried in the near (dark) hand
    _root(svg)


def test_a_bed_seen_from_above_shows_its_top_and_the_picture_includes_it():
    spec = {
        "support": "none",
        "view": "front",
        "arrow": "none",
        "lift": [30, 30],
        "props": [{"type": "bed", "x1": -110, "x2": 80, "height": 26, "top": 52}],
        "start": {"trunk": 180},
    }
    root = _root(render_movement(spec))
    rects = [r for r in root.iter(f"{SVG_NS}rect")]
    top, side = rects[0], rects[1]
    assert top.get("fill") == "#fff" and float(top.get("y")) == -78 and float(top.get("height")) == 52
    assert side.get("fill") == PROP_FILL and float(side.get("y")) == -26
    _x, y0, _w, _h = map(float, root.get("viewBox").split())
    assert y0 < -78  # the mattress's far edge is inside the picture


def test_a_guide_line_marked_front_is_drawn_over_the_body():
    line = {"type": "shape", "d": "M-100 -40 H20", "dashed": True, "bounds": [-100, 20, 40]}
    for front in (False, True):
        spec = {"support": "floor", "arrow": "none", "props": [{**line, "front": front}], "start": dict(LYING)}
        svg = render_movement(spec)
        guide, figure = svg.index('d="M-100 -40 H20"'), svg.index('<g class="f1">')
        assert (guide > figure) is front


def test_a_towel_runs_from_the_sole_to_the_hands_in_both_positions():
    spec = {
        "support": "floor",
        "props": [{"type": "towel"}],
        "start": {
            "trunk": 180,
            "hip": [90, 0],
            "knee": [85, 0],
            "ankle": [-5, 0],
            "shoulder": [55, 55],
            "elbow": [-28, -28],
        },
        "end": {"hip": [80, 0], "knee": [0, 0], "ankle": [0, 0], "shoulder": [57, 57], "elbow": [-24, -24]},
    }
    svg = render_movement(spec)
    lines = re.findall(
        r'<line x1="([-\d.]+)" y1="([-\d.]+)" x2="([-\d.]+)" y2="([-\d.]+)" stroke="(#\w+)" stroke-width="3"', svg
    )
    colours = [line[4] for line in lines]
    assert colours == ["#b9cdd1", "#8a8f94"]  # faint where the leg starts, solid where it ends
    end = [float(v) for v in lines[1][:4]]
    assert end[1] < end[3]  # from the raised foot (higher up, smaller SVG y) down to the hands
