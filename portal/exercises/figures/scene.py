"""One illustration: the figure in its start and end poses, its support and props, an arrow.

The start pose is drawn faintly and stays put; the main figure moves between the poses
(CSS in the SVG's own <style>) and rests on the end pose when the reader asks for reduced
motion, so the still picture still shows both positions and the arrow the direction.

Side-lying figures (clamshell, open book, side plank, side sleeping) use the front view and
are pictured from a little above: what is nearer the viewer is drawn lower, so bent hips and
knees show as a V below the stacked hips, shins behind the body rise, and a bed or mat shows
its top. Supine twists use the same front view as a view from straight above ("mat_top").
"""

from __future__ import annotations

import math
from html import escape  # for SVG text and attributes: & < > " and ' become entities
from typing import Any

from portal.exercises.figures.figure import (
    ARROW,
    BAND,
    BRAND,
    FAR,
    GHOST,
    HEAD_R,
    PROP,
    PROP_FILL,
    TARGET,
    WIDTH,
    FigureSvg,
    Pose,
    _num,
    points,
)

FLOOR_Y = 0.0  # y up in model space; the floor is y = 0
REDUCED_MOTION = "@media (prefers-reduced-motion:reduce){*{animation:none!important}}"
TRACKED = (
    "near_hand",
    "far_hand",
    "near_toe",
    "far_toe",
    "near_knee",
    "far_knee",
    "head",
    "pelvis",
    "chest",
    "near_elbow",
)


def _contact(pts: dict[str, tuple[float, float]]) -> float:
    """The lowest edge of the body (strokes have width; the head is a disc)."""
    low = []
    for name, (_x, y) in pts.items():
        if name == "head":
            low.append(y - HEAD_R)
        elif name in ("pelvis", "mid", "chest"):
            low.append(y - WIDTH["trunk"] / 2)
        elif name.endswith("hip") or name.endswith("shoulder"):
            continue
        else:
            low.append(y - WIDTH["limb"] / 2)
    return min(low)


def _placed(pose: Pose, view: str, anchor: str, lift: float, grounded: bool) -> dict[str, tuple[float, float]]:
    """Points with the body resting on the floor (or lifted) and the anchor point at x = 0."""
    pts = points(pose, view)
    ax = pts[anchor][0]
    dy = FLOOR_Y + lift - _contact(pts)
    if not grounded:  # seen from above: nothing rests on a floor line, the pelvis stays put
        dy = 0.0
    return {name: (x - ax, y + dy) for name, (x, y) in pts.items()}


def _flip(point: tuple[float, float]) -> str:
    """A model point (y up) as SVG coordinates (y down)."""
    return f"{_num(point[0])},{_num(-point[1])}"


def _head(base: tuple[float, float], direction: tuple[float, float], length: float = 7, half: float = 5) -> str:
    """An arrowhead's polygon points: its base centred on ``base``, pointing along the unit ``direction``."""
    (x, y), (tx, ty) = base, direction
    px, py = -ty, tx
    corners = [(x + tx * length, y + ty * length), (x + px * half, y + py * half), (x - px * half, y - py * half)]
    return " ".join(_flip(c) for c in corners)


def _arrow(
    start: dict, end: dict, track: str | None, side: list[float] | None = None, length: float | None = None
) -> str:
    """A curved arrow beside the part that moves most, from where it starts to where it ends.

    side: the direction [dx, dy] (y up) to set the arrow off the limb, where "away from the
    body's centre" would hide it under the body (a hip lifting from the floor).
    length: the arrow's least length, drawn about the middle of the move, where the part travels too
    little for the trimmed arrow to show more than its head (hips lifting or sinking a hand's width)."""
    if track is None:
        track = max(TRACKED, key=lambda name: math.dist(start[name], end[name]))
    (x1, y1), (x2, y2) = start[track], end[track]
    dist = math.dist((x1, y1), (x2, y2))
    if dist < 6:
        return ""
    # Keep the arrow clear of the limb: shift it away from the body's centre, bulge outward.
    cx, cy = (start["pelvis"][0] + start["chest"][0]) / 2, (start["pelvis"][1] + start["chest"][1]) / 2
    mx, my = (x1 + x2) / 2, (y1 + y2) / 2
    ox, oy = side if side else (mx - cx, my - cy)
    norm = math.hypot(ox, oy) or 1
    off = 24 if side else 13  # a chosen side clears the whole body, not just the limb
    x1, y1, x2, y2 = x1 + ox / norm * off, y1 + oy / norm * off, x2 + ox / norm * off, y2 + oy / norm * off
    # Shorten both ends a little, never so much that a short arrow turns round.
    ux, uy = (x2 - x1) / dist, (y2 - y1) / dist
    trim = min(1.0, dist / 30)
    x1, y1, x2, y2 = x1 + ux * 4 * trim, y1 + uy * 4 * trim, x2 - ux * 7 * trim, y2 - uy * 7 * trim
    if length and math.dist((x1, y1), (x2, y2)) < length:
        ax, ay = (x1 + x2) / 2, (y1 + y2) / 2
        x1, y1, x2, y2 = ax - ux * length / 2, ay - uy * length / 2, ax + ux * length / 2, ay + uy * length / 2
    bulge = min(dist * 0.25, 14)
    qx, qy = mx + ox / norm * (off + bulge), my + oy / norm * (off + bulge)
    # arrowhead from the curve's end tangent
    tx, ty = x2 - qx, y2 - qy
    tn = math.hypot(tx, ty) or 1
    return (
        f'<path d="M{_flip((x1, y1))} Q{_flip((qx, qy))} {_flip((x2, y2))}" fill="none" stroke="{ARROW}" '
        f'stroke-width="3" stroke-linecap="round"/>'
        f'<polygon points="{_head((x2, y2), (tx / tn, ty / tn))}" fill="{ARROW}"/>'
    )


def _turn_arrow(pts: dict[str, tuple[float, float]], turn: dict[str, Any]) -> str:
    """A curved arrow round a joint, for a part that rotates in place (a pelvis rocking) where no
    point travels far enough for _arrow to show: an arc of a circle about ``at`` from angle ``from``
    to ``to`` (degrees, counter-clockwise with y up), its head at ``to``."""
    cx, cy = pts[turn["at"]]
    cx, cy = cx + turn.get("dx", 0), cy + turn.get("dy", 0)
    radius, a0, a1 = turn.get("radius", 20), turn["from"], turn["to"]
    start = (cx + radius * math.cos(math.radians(a0)), cy + radius * math.sin(math.radians(a0)))
    end = (cx + radius * math.cos(math.radians(a1)), cy + radius * math.sin(math.radians(a1)))
    # SVG's y runs down, so a counter-clockwise turn (y up) is drawn with sweep-flag 0.
    sweep = 0 if a1 > a0 else 1
    large = 1 if abs(a1 - a0) > 180 else 0
    # The head points along the circle's tangent at the end, in the direction of travel.
    sign = 1 if a1 > a0 else -1
    tangent = (-math.sin(math.radians(a1)) * sign, math.cos(math.radians(a1)) * sign)
    return (
        f'<g data-turn="{escape(turn["at"])}"><path d="M{_flip(start)} A{_num(radius)},{_num(radius)} 0 {large} {sweep} '
        f'{_flip(end)}" fill="none" stroke="{ARROW}" stroke-width="3.5" stroke-linecap="round"/>'
        f'<polygon points="{_head(end, tangent, 8, 5.5)}" fill="{ARROW}" stroke="#fff" stroke-width="1.5" '
        f'paint-order="stroke"/></g>'
    )


def _rise_arrow(pts: dict[str, tuple[float, float]], rise: dict[str, Any]) -> str:
    """A short straight arrow above a part that swells or lifts by less than _arrow shows (a belly rising with
    a breath): from ``gap`` above the point ``at`` (plus ``dx``), ``length`` long, pointing up."""
    x, y = pts[rise["at"]]
    x += rise.get("dx", 0)
    y0 = y + rise.get("gap", 10)
    y1 = y0 + rise.get("length", 14)
    return (
        f'<g data-rise="{escape(rise["at"])}"><path d="M{_flip((x, y0))} L{_flip((x, y1))}" stroke="{ARROW}" '
        f'stroke-width="3.5" stroke-linecap="round"/><polygon points="{_head((x, y1), (0, 1))}" fill="{ARROW}"/></g>'
    )


def _extras(props: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Props carried by the body: they move with the part that holds them."""
    extras: dict[str, dict[str, str]] = {"near": {}, "far": {}, "trunk": {}}
    for prop in props:
        kind = prop.get("type")
        side = prop.get("side", "near")
        if kind == "weight":
            extras[side]["hand"] = (
                f'<rect x="-5" y="0" width="10" height="13" rx="3" fill="{PROP}" stroke="{PROP}" stroke-width="1"/>'
            )
        elif kind == "towel":
            # Looped under the sole (the foot's +y side); _held_lines runs it on to the hands.
            extras[side]["foot"] = (
                f'<path d="M0,5 L11,5" fill="none" stroke="{PROP}" stroke-width="3" stroke-linecap="round"/>'
            )
        elif kind == "carried":
            extras[side]["hand"] = (
                f'<rect x="-8" y="-2" width="17" height="15" rx="2" fill="{PROP_FILL}" stroke="{PROP}" stroke-width="2"/>'
            )
        elif kind == "suitcase":
            # A bag held by its handle in a hanging hand: the hand's x axis runs down the arm.
            extras[side]["hand"] = (
                f'<path d="M1,-5 L4,-5 M1,5 L4,5" stroke="{PROP}" stroke-width="2.5"/>'
                f'<rect x="4" y="-15" width="24" height="30" rx="3" fill="{PROP_FILL}" stroke="{PROP}" stroke-width="2.5"/>'
            )
        elif kind == "stick":
            # Along the back (the trunk's -y side faces backward), from the tailbone to above the head.
            extras["trunk"]["lower"] = (
                f'<line x1="-6" y1="-12" x2="80" y2="-12" stroke="{PROP}" stroke-width="3.5" stroke-linecap="round"/>'
            )
    return extras


# Where each target area sits on the body, in the coordinates of the part it moves with (side view:
# a part's x axis runs along it from its joint, +y is the body's front). Shaded on the moving figure only.
SHADES: dict[str, tuple[str, str, str]] = {
    "belly": ("trunk", "lower", '<ellipse cx="14" cy="5" rx="11" ry="6"/>'),
    "lower_back": ("trunk", "lower", '<ellipse cx="12" cy="-5" rx="11" ry="5.5"/>'),
    "buttock": ("trunk", "lower", '<ellipse cx="1" cy="-5" rx="7" ry="6"/>'),
    "upper_back": ("trunk", "upper", '<ellipse cx="13" cy="-5" rx="12" ry="5.5"/>'),
    "chest": ("trunk", "upper", '<ellipse cx="14" cy="5" rx="11" ry="5.5"/>'),
    "neck": ("trunk", "neck", '<ellipse cx="4" cy="0" rx="7" ry="5.5"/>'),
    # A thigh's -y is its front (the quadriceps), +y its back (the hamstring).
    "hip_front": ("near", "thigh", '<ellipse cx="9" cy="-4" rx="10" ry="5"/>'),
    "back_hip_front": ("far", "thigh", '<ellipse cx="9" cy="-4" rx="11" ry="5.5"/>'),
    "thigh_back": ("near", "thigh", '<ellipse cx="22" cy="4" rx="14" ry="5"/>'),
    "thigh_front": ("near", "thigh", '<ellipse cx="22" cy="-4" rx="14" ry="5"/>'),
    "calf": ("near", "shin", '<ellipse cx="14" cy="-4" rx="11" ry="4.5"/>'),  # a shin's -y is its back
}


def _shaded(extras: dict[str, dict[str, str]], shade: list[str]) -> dict[str, dict[str, str]]:
    """The moving figure's extras with the movement's target areas shaded (a warm translucent fill)."""
    shaded = {key: dict(parts) for key, parts in extras.items()}
    for area in shade:
        owner, part, shape = SHADES[area]
        mark = f'<g fill="{TARGET}" fill-opacity=".8" stroke="none" data-target="{area}">{shape}</g>'
        shaded.setdefault(owner, {})[part] = shaded.get(owner, {}).get(part, "") + mark
    return shaded


def _supports(support: str, props: list[dict[str, Any]], placed: list[dict], view: str) -> tuple[str, list[float]]:
    """Floor, mat, chair, wall, step and pillows; returns markup and the x range they span."""
    out: list[str] = []
    xs: list[float] = []
    all_pts = [p for pts in placed for p in pts.values()]
    min_x = min(p[0] for p in all_pts)
    max_x = max(p[0] for p in all_pts)
    if support == "mat_top":
        # Seen from above: the exercise mat is drawn around the lying figure.
        x0, x1 = min_x - 16, max_x + 16
        ys = [p[1] for p in all_pts]
        y0, y1 = min(ys) - 16, max(ys) + 16
        out.append(
            f'<rect x="{_num(x0)}" y="{_num(-y1)}" width="{_num(x1 - x0)}" height="{_num(y1 - y0)}" rx="8" '
            f'fill="{PROP_FILL}" stroke="{PROP}" stroke-width="1.5"/>'
        )
        xs += [x0, x1]
    if support == "floor":
        out.append(
            f'<rect x="{_num(min_x - 14)}" y="-4" width="{_num(max_x - min_x + 28)}" height="4" rx="2" fill="{PROP_FILL}" '
            f'stroke="{PROP}" stroke-width="1.5"/>'
        )
    if support in ("chair",) or any(p.get("type") == "chair" for p in props):
        chair = next((p for p in props if p.get("type") == "chair"), {})
        seated = min(placed, key=lambda pts: pts["pelvis"][1])
        px, py = seated["pelvis"]
        if "x" in chair:
            px = chair["x"]
        seat_y = py - WIDTH["trunk"] / 2 - 1 if "y" not in chair else chair["y"]
        facing = chair.get("facing", 1)  # 1: the seat's back is behind the figure (to the left)
        front, back = (px + 16, px - 18) if facing == 1 else (px - 16, px + 18)
        lo, hi = min(front, back), max(front, back)
        back_top = seat_y + chair.get("back_height", 42)
        out.append(
            f'<g fill="none" stroke="{PROP}" stroke-width="4" stroke-linecap="round" stroke-linejoin="round">'
            f'<path d="M{_num(lo)},{_num(-seat_y)} H{_num(hi)}"/>'
            f'<path d="M{_num(front)},{_num(-seat_y)} V0 M{_num(back)},{_num(-back_top)} V0"/></g>'
        )
        xs += [lo, hi]
    if support == "wall":
        wall_x = min(min(pts[n][0] for n in ("pelvis", "chest", "mid")) for pts in placed) - WIDTH["trunk"] / 2 - 2
        top = max(p[1] for p in all_pts) + 12
        out.append(
            f'<rect x="{_num(wall_x - 8)}" y="{_num(-top)}" width="8" height="{_num(top)}" fill="{PROP_FILL}" '
            f'stroke="{PROP}" stroke-width="1.5"/>'
        )
        xs.append(wall_x - 8)
    for prop in props:
        kind = prop.get("type")
        if kind == "step":
            x, w, h = prop["x"], prop.get("width", 34), prop.get("height", 16)
            out.append(
                f'<rect x="{_num(x)}" y="{_num(-h)}" width="{w}" height="{h}" rx="2" fill="{PROP_FILL}" '
                f'stroke="{PROP}" stroke-width="2"/>'
            )
            xs += [x, x + w]
        elif kind == "pillow":
            x, y, w, h = prop["x"], prop["y"], prop.get("width", 26), prop.get("height", 12)
            # A pillow the picture is about (between the knees, behind the low back) may take a colour of its own.
            out.append(
                f'<rect x="{_num(x - w / 2)}" y="{_num(-y - h / 2)}" width="{w}" height="{h}" rx="{_num(h / 2)}" '
                f'fill="{escape(prop.get("fill", PROP_FILL))}" stroke="{PROP}" stroke-width="2"/>'
            )
            xs += [x - w / 2, x + w / 2]
        elif kind == "box":
            x, y, s = prop["x"], prop.get("y", 0), prop.get("size", 20)
            out.append(
                f'<rect x="{_num(x - s / 2)}" y="{_num(-y - s)}" width="{s}" height="{s}" rx="2" fill="{PROP_FILL}" '
                f'stroke="{PROP}" stroke-width="2"/>'
            )
            xs += [x - s / 2, x + s / 2]
        elif kind == "shape":
            if not prop.get("front"):
                out.append(_shape(prop))
            xs += prop["bounds"][:2]
        elif kind == "band":
            # The band's anchor (a post, or a door it is shut in) stays put; a knot marks where the
            # band is tied, so the anchor reads even at thumbnail size.
            x, y = prop["x"], prop["y"]
            out.append(
                f'<rect x="{_num(x - 5)}" y="{_num(-y - 60)}" width="10" height="{_num(y + 60)}" rx="2" '
                f'fill="{PROP_FILL}" stroke="{PROP}" stroke-width="2"/>'
            )
            xs += [x - 5, x + 5]
        elif kind == "mat":
            # An exercise mat seen a little from above (as side-lying figures are): its top reaches
            # up to where the parts resting on it sit, so an elbow or a knee reads as on the floor.
            top = prop.get("top", 22)
            out.append(
                f'<rect x="{_num(min_x - 14)}" y="{_num(-top)}" width="{_num(max_x - min_x + 28)}" height="{_num(top)}" '
                f'rx="4" fill="{PROP_FILL}" stroke="{PROP}" stroke-width="1.5"/>'
            )
        elif kind == "counter":
            x, h = prop["x"], prop.get("height", 90)
            w = prop.get("width", 40)
            out.append(
                f'<rect x="{_num(x)}" y="{_num(-h)}" width="{w}" height="{h}" fill="{PROP_FILL}" stroke="{PROP}" '
                f'stroke-width="2"/>'
            )
            xs += [x, x + w]
        elif kind == "bed":
            x1, x2, h = prop["x1"], prop["x2"], prop.get("height", 0)
            top = prop.get("top", 0)
            if top:
                # Seen a little from above: the mattress's top, where the sleeper lies, over its side.
                out.append(
                    f'<rect x="{_num(x1)}" y="{_num(-h - top)}" width="{_num(x2 - x1)}" height="{_num(top)}" rx="4" '
                    f'fill="#fff" stroke="{PROP}" stroke-width="2"/>'
                )
            out.append(
                f'<rect x="{_num(x1)}" y="{_num(-h)}" width="{_num(x2 - x1)}" height="{_num(max(h, 6))}" rx="3" '
                f'fill="{PROP_FILL}" stroke="{PROP}" stroke-width="2"/>'
            )
            xs += [x1, x2]
    return "".join(out), xs


def _shape(prop: dict[str, Any]) -> str:
    """A drawn object (desk, screen, car, bed...) in SVG coordinates; the floor is y = 0."""
    fill = prop.get("fill", "none")
    dash = ' stroke-dasharray="4 4"' if prop.get("dashed") else ""
    return (
        f'<path d="{escape(prop["d"])}" fill="{fill}" stroke="{PROP}" stroke-width="{prop.get("width", 3)}" '
        f'stroke-linecap="round" stroke-linejoin="round"{dash}/>'
    )


def _front_shapes(props: list[dict[str, Any]]) -> str:
    """Shapes drawn over the body: a guide line through it (head level with the spine)."""
    return "".join(_shape(prop) for prop in props if prop.get("type") == "shape" and prop.get("front"))


def _band_lines(props: list[dict[str, Any]], placed: list[dict]) -> str:
    """The elastic band from its knot to the hands, and a towel from the sole to the hands: faint
    where they start, solid where they end. Drawn over the body: they run in front of it."""
    out = []
    for prop in props:
        if prop.get("type") == "towel":
            side = prop.get("side", "near")
            for pts, colour, dash in ((placed[0], GHOST, ' stroke-dasharray="4 3"'), (placed[-1], PROP, "")):
                (ax, ay), (tx, ty), (hx, hy) = pts[f"{side}_ankle"], pts[f"{side}_toe"], pts[f"{side}_hand"]
                sole = ((ax + tx) / 2, (ay + ty) / 2)
                out.append(
                    f'<line x1="{_num(sole[0])}" y1="{_num(-sole[1])}" x2="{_num(hx)}" y2="{_num(-hy)}" '
                    f'stroke="{colour}" stroke-width="3" stroke-linecap="round"{dash}/>'
                )
        if prop.get("type") == "band":
            hx, hy = placed[-1][f"{prop.get('side', 'near')}_hand"]
            sx, sy = placed[0][f"{prop.get('side', 'near')}_hand"]
            x, y = prop["x"], prop["y"]
            out.append(
                f'<line x1="{_num(x)}" y1="{_num(-y)}" x2="{_num(sx)}" y2="{_num(-sy)}" stroke="{GHOST}" '
                f'stroke-width="3" stroke-dasharray="4 3"/>'
                f'<line x1="{_num(x)}" y1="{_num(-y)}" x2="{_num(hx)}" y2="{_num(-hy)}" stroke="{BAND}" stroke-width="4" '
                f'stroke-linecap="round"/><circle cx="{_num(x)}" cy="{_num(-y)}" r="5" fill="{BAND}"/>'
            )
    return "".join(out)


def render_movement(spec: dict[str, Any], title: str = "", still: str | None = None) -> str:
    """The SVG document for one movement described in poses.json.

    ``still`` ("start" or "end") draws one position without animation, in the same frame as the
    animated drawing so the two stills print side by side at one scale: the start alone, or the
    end with the start's faint outline and the arrow between them."""
    view = spec.get("view", "side")
    start = Pose.from_data(spec["start"])
    end = Pose.from_data(spec.get("end", {}), base=start)
    anchor = spec.get("anchor", "pelvis")
    lifts = spec.get("lift", [0, 0])
    props = spec.get("props", [])
    support = spec.get("support", "floor")
    grounded = support != "mat_top"
    placed = [_placed(start, view, anchor, lifts[0], grounded), _placed(end, view, anchor, lifts[1], grounded)]
    support_svg, prop_xs = _supports(support, props, placed, view)

    extras = _extras(props)
    ghost = FigureSvg(view, "g")
    ghost_svg = ""
    if still != "start" and (start != end or placed[0] != placed[1]):
        ghost_svg = ghost.build(
            [start], [(placed[0]["pelvis"][0], -placed[0]["pelvis"][1])], GHOST, GHOST, _ghostly(extras)
        )
    main = FigureSvg(view, "f")
    shown = {"start": [0], "end": [1]}.get(still or "", [0, 1])
    main_svg = main.build(
        [(start, end)[i] for i in shown],
        [(placed[i]["pelvis"][0], -placed[i]["pelvis"][1]) for i in shown],
        BRAND,
        FAR,
        _shaded(extras, spec.get("shade", [])),
    )
    arrow = (
        ""
        if spec.get("arrow") == "none" or still == "start"
        else _arrow(placed[0], placed[1], spec.get("track"), spec.get("arrow_side"), spec.get("arrow_length"))
    )
    # Over the figure: its head lands on the part that turns.
    turn = _turn_arrow(placed[1], spec["turn"]) if spec.get("turn") and still != "start" else ""
    if spec.get("rise") and still != "start":
        turn += _rise_arrow(placed[1], spec["rise"])

    xs = [p[0] for pts in placed for p in pts.values()] + prop_xs
    # Room above a low figure for a close-up inset, so the circle sits above the part it magnifies.
    ys = [p[1] for pts in placed for p in pts.values()] + [0.0, spec.get("headroom", 0)]
    for prop in props:
        if prop.get("type") == "band":
            ys.append(prop["y"] + 60)
        if prop.get("type") == "shape":
            ys.append(prop["bounds"][2])
        if prop.get("type") == "chair" and "y" in prop:  # a chair beyond the figure: its back inside the picture
            ys.append(prop["y"] + prop.get("back_height", 42))
        if prop.get("type") == "bed":
            ys.append(prop.get("height", 0) + prop.get("top", 0))
    pad = 18
    x0, x1 = min(xs) - pad, max(xs) + pad
    # SVG y runs down: the top is above the highest point, the bottom a little below the floor
    # (or, seen from above, below the lowest point).
    y0, y1 = -max(ys) - HEAD_R - pad, max(10.0, -min(ys) + HEAD_R + pad)
    width, height = x1 - x0, y1 - y0
    # Never taller than wide, so a lying and a standing figure share the same card shape.
    if height > width:
        extra = (height - width) / 2
        x0, width = x0 - extra, height
    elif width > height * 2.4:
        extra = width / 2.4 - height
        y0, height = y0 - extra * 0.7, width / 2.4
    floor = (
        f'<line x1="{_num(x0)}" y1="0" x2="{_num(x0 + width)}" y2="0" stroke="{PROP}" stroke-width="2"/>'
        if support not in ("none", "mat_top")
        else ""
    )
    static_g, _ = ghost.css()
    static_f, moving_f = main.css()
    style = f"{static_g}{static_f}@media (prefers-reduced-motion:no-preference){{{moving_f}}}{REDUCED_MOTION}"
    inset = ""
    if spec.get("inset"):
        # The close-up shows the same figures by reference (<use>), not a second copy of their markup:
        # they move in step and the drawing stays about as small as one without a close-up.
        ghost_svg = f'<g id="ghost">{ghost_svg}</g>' if ghost_svg else ""
        main_svg = f'<g id="figure">{main_svg}</g>'
        shown = ('<use href="#ghost"/>' if ghost_svg else "") + '<use href="#figure"/>'
        inset = _inset(spec["inset"], shown, placed[-1], (x0, y0, width, height))
    body = floor + support_svg + ghost_svg + arrow + main_svg + turn + _band_lines(props, placed) + _front_shapes(props)
    body += inset
    return _document((x0, y0, width, height), style, body, title)


def _inset(inset: dict[str, Any], figure: str, end: dict[str, tuple[float, float]], box: tuple) -> str:
    """A close-up circle in a top corner: the same figure (it moves in step) magnified about a joint,
    for movements too small to read at full size (a chin tuck, a pelvic tilt)."""
    x0, y0, width, height = box
    radius = min(width, height) * 0.26
    cx = x0 + radius + 6 if inset.get("corner", "right") == "left" else x0 + width - radius - 6
    cy = y0 + radius + 6
    jx, jy = end[inset["joint"]]
    jy = -jy  # model y up -> SVG y down
    jx += inset.get("dx", 0)
    jy -= inset.get("dy", 0)
    zoom = inset.get("zoom", 2.6)
    clip = f"inset-{inset['joint']}"
    return (
        f'<defs><clipPath id="{clip}"><circle cx="{_num(cx)}" cy="{_num(cy)}" r="{_num(radius)}"/></clipPath></defs>'
        f'<circle cx="{_num(cx)}" cy="{_num(cy)}" r="{_num(radius)}" fill="#fff" stroke="{PROP}" stroke-width="2"/>'
        f'<g clip-path="url(#{clip})" data-inset="{inset["joint"]}"><g transform="translate({_num(cx)} {_num(cy)}) '
        f'scale({_num(zoom)}) translate({_num(-jx)} {_num(-jy)})">{figure}</g></g>'
        f'<circle cx="{_num(cx)}" cy="{_num(cy)}" r="{_num(radius)}" fill="none" stroke="{PROP}" stroke-width="2"/>'
    )


def _ghostly(extras: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    return {k: {part: markup.replace(PROP, GHOST) for part, markup in v.items()} for k, v in extras.items()}


def _document(box: tuple[float, float, float, float], style: str, body: str, title: str) -> str:
    x, y, w, h = box
    title_el = f"<title>{escape(title)}</title>" if title else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{_num(x)} {_num(y)} {_num(w)} {_num(h)}" role="img">'
        f"{title_el}<style>{style}</style>{body}</svg>"
    )
