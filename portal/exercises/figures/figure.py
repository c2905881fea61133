"""Draw a neutral human figure from joint angles, as animated SVG.

The figure is a kinematic tree of nested SVG groups (pelvis -> lower trunk -> upper trunk ->
neck/head and arms; pelvis -> thighs -> shins -> feet). Each group carries one rotation, so
the start and end poses become two transform lists of the same shape, and CSS @keyframes
inside the SVG's own <style> interpolate joint by joint: the limbs swing about their joints
instead of sliding. The CSS lives in the SVG document, which the page loads as an <img>,
so the page's strict CSP (no inline style) is untouched.

Angles are degrees. Side view: the figure faces right; ``trunk`` is the absolute direction
of pelvis->chest (90 upright, 180 lying on the back with the head to the left, 0 lying face
down with the head to the right). Joint angles are relative and named as a therapist would:
hip and shoulder flexion, knee and elbow flexion, ankle dorsiflexion, spine and neck
extension. Front view uses the same tree with the shoulders and hips set apart; its limb
angles read as abduction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

BRAND = "#0b5563"
FAR = "#6f9ba3"  # the far-side limbs: the brand colour, lighter, so depth reads at a glance
GHOST = "#b9cdd1"
PROP = "#8a8f94"
PROP_FILL = "#e4e6e8"
ARROW = "#c2410c"
TARGET = "#f59e0b"  # the area a movement stretches or works, shaded as on exercise sheets
BAND = "#4d8a44"  # an elastic band: green, apart from the figure, the props and the arrow

# Segment lengths in drawing units (a standing figure is about 160 units tall).
LEN = {
    "lower_trunk": 25,
    "upper_trunk": 27,
    "neck": 9,
    "upper_arm": 27,
    "forearm": 25,
    "thigh": 41,
    "shin": 39,
    "foot": 12,
}
HEAD_R = 10.5
WIDTH = {"trunk": 15, "limb": 8.5, "foot": 6.5}

JOINTS = ("trunk", "spine", "neck", "head", "hip", "knee", "ankle", "shoulder", "elbow")
PAIRED = ("hip", "knee", "ankle", "shoulder", "elbow")
SCALED = ("thigh", "shin", "upper_arm", "forearm", "lower_trunk", "upper_trunk", "hand")


@dataclass
class Pose:
    """One position: joint angles (paired joints as [near, far]) and optional foreshortening."""

    trunk: float = 90
    spine: float = 0
    neck: float = 0
    head: float = 0
    hip: tuple[float, float] = (0, 0)
    knee: tuple[float, float] = (0, 0)
    ankle: tuple[float, float] = (0, 0)
    shoulder: tuple[float, float] = (0, 0)
    elbow: tuple[float, float] = (0, 0)
    scale: dict[str, tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: dict[str, Any], base: Pose | None = None) -> Pose:
        """A pose from the data file; keys missing from an end pose repeat the start pose."""
        values: dict[str, Any] = {}
        for name in JOINTS:
            raw = data.get(name, getattr(base, name) if base else None)
            if raw is None:
                continue
            if name in PAIRED:
                raw = tuple(raw) if isinstance(raw, list | tuple) else (raw, raw)
            values[name] = raw
        scale = dict(base.scale) if base else {}
        for name, raw in (data.get("scale") or {}).items():
            scale[name] = tuple(raw) if isinstance(raw, list | tuple) else (raw, raw)
        return cls(**values, scale=scale)

    def s(self, segment: str, side: int = 0) -> float:
        value = self.scale.get(segment)
        return value[side] if value else 1.0


# --- forward kinematics (to place the figure and find where the arrow goes) ---------------


def _step(x: float, y: float, angle: float, length: float) -> tuple[float, float]:
    rad = math.radians(angle)
    return x + length * math.cos(rad), y + length * math.sin(rad)


def points(pose: Pose, view: str = "side") -> dict[str, tuple[float, float]]:
    """Joint positions, y up, the pelvis at the origin."""
    pts: dict[str, tuple[float, float]] = {"pelvis": (0.0, 0.0)}
    lower = pose.trunk
    upper = lower + pose.spine
    mid = _step(0, 0, lower, LEN["lower_trunk"] * pose.s("lower_trunk"))
    chest = _step(*mid, upper, LEN["upper_trunk"] * pose.s("upper_trunk"))
    pts["mid"], pts["chest"] = mid, chest
    neck_angle = upper - pose.neck
    neck = _step(*chest, neck_angle, LEN["neck"])
    pts["head"] = _step(*neck, neck_angle - pose.head, HEAD_R)
    for side, name in ((0, "near"), (1, "far")):
        sign = 1 if side == 0 else -1
        shoulder_at, hip_at = chest, (0.0, 0.0)
        if view == "front":
            # In front view "near" is the side drawn on the viewer's right of a standing figure;
            # a positive angle opens either limb away from the body's midline.
            shoulder_at = _step(*chest, upper - 90 * sign, 15)
            hip_at = _step(0, 0, lower - 90 * sign, 8)
        # Mirrored limbs in front view: the same angle opens both arms away from the body.
        turn = sign if view == "front" else 1
        arm = upper + 180 + turn * pose.shoulder[side]
        elbow = _step(*shoulder_at, arm, LEN["upper_arm"] * pose.s("upper_arm", side))
        fore = arm + turn * pose.elbow[side]
        hand = _step(*elbow, fore, LEN["forearm"] * pose.s("forearm", side))
        thigh = lower + 180 + turn * pose.hip[side]
        knee = _step(*hip_at, thigh, LEN["thigh"] * pose.s("thigh", side))
        shin = thigh - turn * pose.knee[side]
        ankle = _step(*knee, shin, LEN["shin"] * pose.s("shin", side))
        toe = _step(*ankle, shin + 90 + pose.ankle[side], LEN["foot"] if view == "side" else 4)
        pts.update(
            {
                f"{name}_shoulder": shoulder_at,
                f"{name}_elbow": elbow,
                f"{name}_hand": hand,
                f"{name}_hip": hip_at,
                f"{name}_knee": knee,
                f"{name}_ankle": ankle,
                f"{name}_toe": toe,
            }
        )
    return pts


# --- SVG -----------------------------------------------------------------------------------


def _num(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


class FigureSvg:
    """Builds the nested groups of one figure, with one CSS transform per group and pose."""

    def __init__(self, view: str, prefix: str) -> None:
        self.view = view
        self.prefix = prefix
        self.counter = 0
        self.transforms: dict[str, list[str]] = {}  # group class -> transform per pose

    def _group(self, transforms: list[str]) -> str:
        self.counter += 1
        gid = f"{self.prefix}{self.counter}"
        self.transforms[gid] = transforms
        return gid

    def _seg(self, poses: list[Pose], segment: str, side: int, length: float, width: float, col: str) -> str:
        """A segment along its group's x axis; foreshortened ones (pointing at the viewer) scale."""
        line = f'<line x1="0" y1="0" x2="{_num(length)}" y2="0" stroke="{col}" stroke-width="{width}" stroke-linecap="round"'
        if all(p.s(segment, side) == 1.0 for p in poses):
            return line + "/>"
        gid = self._group([f"scale({_num(p.s(segment, side))},1)" for p in poses])
        return f'<g class="{gid}">{line} vector-effect="non-scaling-stroke"/></g>'

    def _leg(self, poses: list[Pose], side: int, col: str, extra: dict[str, str]) -> str:
        sign = 1 if side == 0 else -1
        front = self.view == "front"
        turn = sign if front else 1
        hip = []
        for p in poses:
            shift = ""
            if front:
                dx, dy = _step(0, 0, p.trunk - 90 * sign, 8)
                shift = f"translate({_num(dx)}px,{_num(-dy)}px) "
            hip.append(f"{shift}rotate({_num(-(p.trunk + 180 + turn * p.hip[side]))}deg)")
        g1 = self._group(hip)
        g2 = self._group(
            [
                f"translate({_num(LEN['thigh'] * p.s('thigh', side))}px,0px) rotate({_num(turn * p.knee[side])}deg)"
                for p in poses
            ]
        )
        g3 = self._group(
            [
                f"translate({_num(LEN['shin'] * p.s('shin', side))}px,0px) rotate({_num(-(90 + p.ankle[side]))}deg)"
                for p in poses
            ]
        )
        foot = LEN["foot"] if not front else 5
        return (
            f'<g class="{g1}">{self._seg(poses, "thigh", side, LEN["thigh"], WIDTH["limb"] + 1.5, col)}{extra.get("thigh", "")}'
            f'<g class="{g2}">{self._seg(poses, "shin", side, LEN["shin"], WIDTH["limb"], col)}{extra.get("shin", "")}'
            f'<g class="{g3}"><line x1="0" y1="0" x2="{foot}" y2="0" stroke="{col}" stroke-width="{WIDTH["foot"]}" '
            f'stroke-linecap="round"/>{extra.get("foot", "")}</g></g></g>'
        )

    def _arm(self, poses: list[Pose], side: int, col: str, extra: dict[str, str]) -> str:
        sign = 1 if side == 0 else -1
        front = self.view == "front"
        turn = sign if front else 1
        shift = f"translate(0px,{_num(15 * sign)}px) " if front else ""
        g1 = self._group([f"{shift}rotate({_num(-(180 + turn * p.shoulder[side]))}deg)" for p in poses])
        g2 = self._group(
            [
                f"translate({_num(LEN['upper_arm'] * p.s('upper_arm', side))}px,0px) rotate({_num(-turn * p.elbow[side])}deg)"
                for p in poses
            ]
        )
        # A hand reaching toward the viewer is drawn larger: the depth cue when the arm itself is
        # foreshortened to a stub (a press straight out from the chest, seen from the front).
        sized = any(p.s("hand", side) != 1.0 for p in poses)  # then every pose names a scale, to interpolate
        hand = self._group(
            [
                f"translate({_num(LEN['forearm'] * p.s('forearm', side))}px,0px)"
                + (f" scale({_num(p.s('hand', side))})" if sized else "")
                for p in poses
            ]
        )
        return (
            f'<g class="{g1}">{self._seg(poses, "upper_arm", side, LEN["upper_arm"], WIDTH["limb"], col)}'
            f'<g class="{g2}">{self._seg(poses, "forearm", side, LEN["forearm"], WIDTH["limb"] - 1, col)}'
            f'<g class="{hand}"><circle r="4.2" fill="{col}"/>{extra.get("hand", "")}</g></g></g>'
        )

    def build(
        self,
        poses: list[Pose],
        origins: list[tuple[float, float]],
        colour: str,
        far_colour: str,
        extras: dict[str, dict[str, str]] | None = None,
    ) -> str:
        """The figure's markup; origins are the pelvis positions in SVG coordinates (y down).
        extras: markup attached to a body part, e.g. {"near": {"hand": "<rect .../>"}, "trunk": {...}}."""
        extras = extras or {}
        front = self.view == "front"
        root = self._group([f"translate({_num(x)}px,{_num(y)}px)" for x, y in origins])
        lower = self._group([f"rotate({_num(-p.trunk)}deg)" for p in poses])
        upper = self._group(
            [
                f"translate({_num(LEN['lower_trunk'] * p.s('lower_trunk'))}px,0px) rotate({_num(-p.spine)}deg)"
                for p in poses
            ]
        )
        chest = self._group([f"translate({_num(LEN['upper_trunk'] * p.s('upper_trunk'))}px,0px)" for p in poses])
        neck = self._group([f"rotate({_num(p.neck)}deg)" for p in poses])
        head = self._group([f"translate({LEN['neck']}px,0px) rotate({_num(p.head)}deg)" for p in poses])
        r = HEAD_R
        # A small nose on the front of the face (local +y in side view), so nods and tucks read.
        nose = (
            ""
            if front
            else f'<path d="M{_num(r + 2.5)} {_num(r - 1)} L{_num(r - 2.5)} {_num(r + 4)} L{_num(r - 4.5)} {_num(r - 1.5)}Z" fill="{colour}"/>'
        )
        head_markup = (
            f'<g class="{neck}"><line x1="0" y1="0" x2="{LEN["neck"]}" y2="0" stroke="{colour}" stroke-width="7" '
            f'stroke-linecap="round"/>{extras.get("trunk", {}).get("neck", "")}<g class="{head}"><circle cx="{_num(r)}" cy="0" r="{r}" fill="{colour}"/>{nose}</g></g>'
        )
        near_x, far_x = extras.get("near", {}), extras.get("far", {})
        far_arm, near_arm = self._arm(poses, 1, far_colour, far_x), self._arm(poses, 0, colour, near_x)
        far_leg, near_leg = self._leg(poses, 1, far_colour, far_x), self._leg(poses, 0, colour, near_x)
        tw = WIDTH["trunk"]
        girdles = ""
        if front:
            girdles = (
                f'<line x1="0" y1="-8" x2="0" y2="8" stroke="{colour}" stroke-width="{tw - 2}" stroke-linecap="round"/>'
            )
        shoulders = (
            f'<line x1="0" y1="-15" x2="0" y2="15" stroke="{colour}" stroke-width="{tw - 4}" stroke-linecap="round"/>'
            if front
            else ""
        )
        trunk_extra = extras.get("trunk", {})
        far_arm_behind = ""
        if not front:
            # The far arm hangs from the shoulder but is drawn behind the trunk: a second chain of
            # groups with the trunk's transforms carries it, ahead of the trunk in paint order.
            chain = [self._group(list(self.transforms[g])) for g in (lower, upper, chest)]
            far_arm_behind = f'<g class="{chain[0]}"><g class="{chain[1]}"><g class="{chain[2]}">{far_arm}</g></g></g>'
        return (
            f'<g class="{root}">{"" if front else far_leg}{far_arm_behind}'
            f'<g class="{lower}">{girdles}'
            f"{self._seg(poses, 'lower_trunk', 0, LEN['lower_trunk'], tw, colour)}{trunk_extra.get('lower', '')}"
            f'<g class="{upper}">{self._seg(poses, "upper_trunk", 0, LEN["upper_trunk"], tw, colour)}{trunk_extra.get("upper", "")}'
            f'<g class="{chest}">{shoulders}{head_markup}{far_arm if front else ""}{near_arm}</g></g></g>'
            f"{far_leg if front else ''}{near_leg}</g>"
        )

    def css(self) -> tuple[str, str]:
        """(static rules: the last pose; keyframe rules: start <-> end) for this figure's groups."""
        static, moving = [], []
        for gid, values in self.transforms.items():
            static.append(f".{gid}{{transform:{values[-1]}}}")
            if len(set(values)) > 1:
                moving.append(
                    f"@keyframes {gid}k{{0%,18%{{transform:{values[0]}}}50%,68%{{transform:{values[-1]}}}"
                    f"100%{{transform:{values[0]}}}}}.{gid}{{animation:{gid}k 5s ease-in-out infinite}}"
                )
        return "".join(static), "".join(moving)
