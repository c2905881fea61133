"""Pictograms for nutrition tips and the kinds of item: small line drawings, one style.

Each icon is a few SVG shapes on a 64 x 64 grid: outlines in the brand colour, one soft
accent fill where the food's colour helps recognition (green leaves, red berries).
"""

from __future__ import annotations

from portal.exercises.figures.figure import BRAND, GHOST, PROP
from portal.exercises.figures.scene import REDUCED_MOTION

GREEN = "#5f9e54"
RED = "#c8374b"
BLUE = "#5aa0d0"
AMBER = "#e0a526"
SOFT = "#e4eef0"
SLASH = "#c2410c"


def _no(markup: str) -> str:
    """The icon crossed out: "less of this"."""
    return (
        markup
        + f'<circle cx="32" cy="32" r="27" fill="none" stroke="{SLASH}" stroke-width="4"/><path d="M13 13 L51 51" stroke="{SLASH}" stroke-width="4"/>'
    )


GLASS = f'<path d="M20 10 H44 L40 56 H24 Z" fill="none"/><path d="M22.5 26 H41.5 L39.6 54 H24.4 Z" fill="{BLUE}" stroke="none" opacity=".6"/>'
LEAF = f'<path d="M14 50 C14 24 30 12 52 12 C52 34 40 50 14 50 Z" fill="{GREEN}" fill-opacity=".55"/><path d="M14 50 L40 24 M26 38 L26 28 M33 31 L40 31"/>'
FISH = f'<path d="M8 32 C18 18 38 18 48 32 C38 46 18 46 8 32 Z" fill="{SOFT}"/><path d="M48 32 L58 22 V42 Z" fill="{SOFT}"/><circle cx="18" cy="30" r="2" fill="{BRAND}"/><path d="M27 25 C30 29 30 35 27 39"/>'
BERRIES = (
    f'<g fill="{RED}" fill-opacity=".75"><circle cx="22" cy="40" r="9"/><circle cx="40" cy="42" r="9"/><circle cx="31" cy="26" r="9"/></g>'
    f'<path d="M31 17 L34 8 M34 8 L42 10" />'
)
BOTTLE_OIL = f'<path d="M27 8 H37 V16 L42 24 V56 H22 V24 L27 16 Z" fill="{AMBER}" fill-opacity=".35"/><path d="M27 12 H37"/><path d="M32 32 C28 38 28 44 32 44 C36 44 36 38 32 32 Z" fill="{GREEN}" fill-opacity=".6"/>'
ROOT = (
    f'<path d="M10 40 C10 30 20 28 26 32 C30 24 40 24 42 32 C50 30 56 36 52 44 C46 52 18 52 10 40 Z" fill="{AMBER}" fill-opacity=".55"/>'
    f'<path d="M26 32 C26 38 28 42 30 46 M42 32 C40 38 38 42 38 46"/><path d="M44 12 L50 24 M36 10 L40 22" stroke="{GREEN}"/>'
)
NUTS = (
    f'<path d="M14 40 C14 26 26 18 32 18 C30 30 26 42 14 40 Z" fill="{AMBER}" fill-opacity=".45"/>'
    f'<path d="M34 46 C34 34 44 26 52 28 C52 40 44 48 34 46 Z" fill="{AMBER}" fill-opacity=".45"/>'
    f'<g fill="{BRAND}" stroke="none"><ellipse cx="22" cy="52" rx="2.5" ry="1.6"/><ellipse cx="30" cy="54" rx="2.5" ry="1.6"/><ellipse cx="14" cy="54" rx="2.5" ry="1.6"/></g>'
)
WHEAT = '<path d="M32 58 V14"/>' + "".join(
    f'<ellipse cx="{32 + dx}" cy="{y}" rx="4" ry="7" transform="rotate({r} {32 + dx} {y})" fill="{AMBER}" fill-opacity=".5"/>'
    for y in (18, 28, 38)
    for dx, r in ((-6, -30), (6, 30))
)
BEANS = "".join(
    f'<path d="M{x} {y} c-6 -2 -8 -10 -2 -14 c4 -3 8 0 10 2 c3 3 8 4 8 9 c0 6 -9 6 -16 3 z" fill="{RED}" fill-opacity=".45"/>'
    for x, y in ((16, 30), (34, 44), (14, 52), (36, 22))
)
PACKAGE = (
    f'<rect x="14" y="14" width="36" height="38" rx="3" fill="{SOFT}"/><path d="M14 24 H50 M22 34 H42 M22 42 H36"/>'
)
SODA = f'<rect x="20" y="12" width="24" height="42" rx="5" fill="{SOFT}"/><path d="M20 22 H44 M20 44 H44"/><circle cx="32" cy="33" r="5" fill="{RED}" fill-opacity=".6"/>'
WINE = f'<path d="M20 10 H44 C44 26 40 32 32 32 C24 32 20 26 20 10 Z" fill="{RED}" fill-opacity=".35"/><path d="M32 32 V52 M22 54 H42"/>'
CLOCK = '<circle cx="32" cy="32" r="11"/><path d="M32 25 V32 L37 35"/>'
CUP = f'<path d="M14 24 H44 V40 C44 48 38 52 29 52 C20 52 14 48 14 40 Z" fill="{AMBER}" fill-opacity=".3"/><path d="M44 28 C54 28 54 40 44 40 M22 10 C20 14 24 16 22 20 M32 10 C30 14 34 16 32 20"/>'
DROP = f'<path d="M32 8 C22 24 16 32 16 40 C16 50 24 56 32 56 C40 56 48 50 48 40 C48 32 42 24 32 8 Z" fill="{BLUE}" fill-opacity=".5"/>'
PLATE = (
    f'<circle cx="32" cy="32" r="24" fill="#fff"/><circle cx="32" cy="32" r="18" fill="none"/>'
    f'<path d="M32 14 V50" /><path d="M32 32 H50" /><path d="M14.2 32 A18 18 0 0 1 32 14 V32 Z" fill="{GREEN}" fill-opacity=".55" stroke="none"/>'
    f'<path d="M14.2 32 A18 18 0 0 0 32 50 V32 Z" fill="{GREEN}" fill-opacity=".35" stroke="none"/>'
    f'<path d="M32 14 A18 18 0 0 1 50 32 H32 Z" fill="{AMBER}" fill-opacity=".45" stroke="none"/>'
    f'<path d="M50 32 A18 18 0 0 1 32 50 V32 Z" fill="{RED}" fill-opacity=".35" stroke="none"/>'
)
EGG = f'<path d="M32 10 C22 10 16 28 16 38 C16 48 23 54 32 54 C41 54 48 48 48 38 C48 28 42 10 32 10 Z" fill="#fff"/><circle cx="32" cy="40" r="8" fill="{AMBER}" fill-opacity=".7"/>'
CALENDAR = f'<rect x="10" y="14" width="44" height="40" rx="4" fill="#fff"/><path d="M10 24 H54 M20 10 V18 M44 10 V18"/><path d="M18 34 L21 37 L26 31 M32 34 L35 37 L40 31 M18 46 L21 49 L26 43" stroke="{GREEN}"/>'
POT = f'<path d="M12 24 H52 V44 C52 50 48 54 42 54 H22 C16 54 12 50 12 44 Z" fill="{SOFT}"/><path d="M8 26 H12 M52 26 H56 M18 20 H46 M26 16 V12 M32 16 V10 M38 16 V12"/>'
APPLE = f'<path d="M32 20 C24 14 12 18 12 32 C12 44 20 54 26 54 C29 54 30 52 32 52 C34 52 35 54 38 54 C44 54 52 44 52 32 C52 18 40 14 32 20 Z" fill="{RED}" fill-opacity=".5"/><path d="M32 20 C32 14 34 10 38 8"/><path d="M34 14 C40 8 46 10 46 10 C44 16 38 16 34 14 Z" fill="{GREEN}" fill-opacity=".6"/>'
BAG = f'<path d="M12 22 H52 L48 56 H16 Z" fill="{SOFT}"/><path d="M24 22 V16 C24 10 40 10 40 16 V22"/>'
PILLS = f'<path d="M20 20 H44 V54 H20 Z" fill="#fff"/><rect x="18" y="12" width="28" height="8" rx="2" fill="{SOFT}"/><path d="M27 31 C27 26 37 26 37 31 C37 35 32 35 32 39 M32 44 V46" stroke="{SLASH}"/>'
BANANA = f'<path d="M12 20 C14 42 34 54 54 42 C50 40 46 42 40 42 C28 42 20 34 18 20 Z" fill="{AMBER}" fill-opacity=".6"/><path d="M12 20 L16 14"/>'
MILK = f'<path d="M20 20 L26 12 H38 L44 20 V56 H20 Z" fill="#fff"/><path d="M20 20 H44 M26 12 V8 H38 V12"/><path d="M24 34 H40 V46 H24 Z" fill="{BLUE}" fill-opacity=".35"/>'
SUN = '<circle cx="32" cy="32" r="9"/>' + "".join(
    f'<path d="M32 32 m0 -14 v-6" transform="rotate({a} 32 32)"/>' for a in range(0, 360, 45)
)
SHOE = f'<path d="M8 42 V30 C14 30 20 28 24 22 L34 30 C42 34 52 34 56 40 V46 H8 Z" fill="{SOFT}"/><path d="M8 46 H56 V50 H8 Z" fill="{BRAND}"/>'
HEAT = f'<rect x="12" y="30" width="40" height="20" rx="6" fill="{RED}" fill-opacity=".35"/><path d="M22 24 C18 18 26 16 22 10 M32 24 C28 18 36 16 32 10 M42 24 C38 18 46 16 42 10" stroke="{SLASH}"/>'
BATTERY = f'<rect x="10" y="20" width="40" height="24" rx="4" fill="#fff"/><path d="M50 28 H54 V36 H50"/><rect x="14" y="24" width="10" height="16" fill="{GREEN}" fill-opacity=".7" stroke="none"/><rect x="26" y="24" width="10" height="16" fill="{GREEN}" fill-opacity=".7" stroke="none"/>'
# A person reaching up in a stretch, arcs showing the reach: "a movement" (a dumbbell read as weight training).
STRETCH = (
    f'<circle cx="32" cy="12" r="5" fill="{BRAND}"/><path d="M32 19 V38" stroke-width="6"/>'
    '<path d="M32 21 L24 6 M32 21 L40 6" stroke-width="4"/><path d="M32 38 L25 58 M32 38 L39 58" stroke-width="5"/>'
    f'<path d="M16 14 C14 8 16 4 20 2 M48 14 C50 8 48 4 44 2" stroke="{SLASH}" stroke-width="2.5"/>'
)
CHAIR = f'<path d="M20 8 V52 M20 34 H44 V52 M20 34 L20 8" stroke="{PROP}"/><circle cx="36" cy="12" r="5" fill="{BRAND}"/><path d="M34 18 L30 34 H42 L44 48" stroke-width="5"/>'


def _sweat() -> str:
    return f'<g transform="translate(-10 -6) scale(.8)">{SUN}</g><g transform="translate(22 18) scale(.6)">{DROP}</g>'


def _pair(a: str, b: str) -> str:
    """Two foods side by side, each at two-thirds size."""
    return f'<g transform="translate(-4 8) scale(.62)">{a}</g><g transform="translate(26 8) scale(.62)">{b}</g>'


# A bare right footprint pointing up, centred on its arch: a filled sole (wide forefoot, narrow
# heel) and five toes, solid so it still reads as a foot at thumbnail size.
FOOTPRINT = (
    '<path d="M0 -10 C4 -10 5.2 -5 4.6 -1 C4 3 3.2 5 3.2 8 C3.2 11.6 -3.2 11.6 -3.2 8 '
    'C-3.2 5 -4.6 2 -4.6 -2.5 C-4.6 -7 -3 -10 0 -10 Z"/>'
    '<circle cx="-3.4" cy="-12.6" r="1.8"/><circle cx="-0.6" cy="-13.6" r="1.5"/><circle cx="1.9" cy="-13.2" r="1.3"/>'
    '<circle cx="3.8" cy="-12" r="1.1"/><circle cx="5.1" cy="-10.3" r="1"/>'
)


def _feet(x: float, y: float, turn: int, fill: str) -> str:
    """A pair of footprints standing at (x, y), turned by `turn` degrees (0: facing up)."""
    return (
        f'<g transform="translate({x} {y}) rotate({turn})" fill="{fill}" stroke="none">'
        f'<g transform="translate(-6 0) scale(-1 1)">{FOOTPRINT}</g><g transform="translate(6 0)">{FOOTPRINT}</g></g>'
    )


# Turn by stepping the feet round (faint: where they started), not by twisting the back.
PIVOT = (
    _feet(18, 46, 0, GHOST)
    + _feet(44, 30, 90, BRAND)
    + f'<path d="M14 26 C16 12 28 8 38 12" stroke="{SLASH}"/><path d="M32 7 L39 12 L33 17" stroke="{SLASH}"/>'
)
PERSON = '<circle cx="0" cy="-40" r="5" fill="{c}"/><path d="M0 -34 V-14 L-6 0 M0 -14 L6 0 M0 -30 L{a} -22" stroke-width="4"/>'
TEAM = (
    f'<g transform="translate(12 56)">{PERSON.format(c=BRAND, a=10)}</g>'
    f'<g transform="translate(52 56) scale(-1 1)">{PERSON.format(c=BRAND, a=10)}</g>'
    f'<rect x="22" y="28" width="20" height="14" rx="2" fill="{SOFT}"/>'
)

ICONS: dict[str, str] = {
    "pivot-feet": PIVOT,
    "team-lift": TEAM,
    "water-glass": GLASS,
    "leafy-greens": LEAF,
    "fish": FISH,
    "berries": BERRIES,
    "olive-oil": BOTTLE_OIL,
    "spices": ROOT,
    "nuts-seeds": NUTS,
    "whole-grains": WHEAT,
    "beans": BEANS,
    "no-processed": _no(PACKAGE),
    "no-sugary-drinks": _no(SODA),
    "alcohol-less": _no(WINE),
    "water-through-day": f'<g transform="translate(-6 0)">{GLASS}</g><g transform="translate(22 -10) scale(.9)">{CLOCK}</g>',
    "urine-color": f'{DROP}<g stroke="none"><rect x="52" y="12" width="8" height="10" fill="#f5eaa0"/><rect x="52" y="24" width="8" height="10" fill="#e8c860"/><rect x="52" y="36" width="8" height="10" fill="#c28a2a"/></g>',
    "water-rich-foods": f'<path d="M8 28 H56 A24 24 0 0 1 8 28 Z" fill="{RED}" fill-opacity=".45"/><path d="M8 28 H56 A24 24 0 0 1 8 28 Z" fill="none" stroke="{GREEN}" stroke-width="5" transform="translate(0 2)"/><g fill="{BRAND}" stroke="none"><circle cx="24" cy="36" r="1.8"/><circle cx="32" cy="42" r="1.8"/><circle cx="40" cy="36" r="1.8"/></g>',
    "coffee-cup": CUP,
    "magnesium-foods": _pair(NUTS, LEAF),
    "potassium-foods": _pair(BANANA, BEANS),
    "hot-day-fluids": _sweat(),
    "sports-drink": f'<path d="M24 8 H40 V14 L44 20 V56 H20 V20 L24 14 Z" fill="{BLUE}" fill-opacity=".35"/><path d="M26 30 H38 M32 24 V36" stroke="{SLASH}"/><path d="M20 42 H44"/>',
    "calcium-vitamin-d": _pair(MILK, SUN),
    "balanced-plate": PLATE,
    "protein": _pair(EGG, FISH),
    "meal-plan": CALENDAR,
    "batch-cook": POT,
    "smart-snacks": _pair(APPLE, NUTS),
    "eating-out": BAG,
    "supplements": PILLS,
    "shoe": SHOE,
    "heat-pack": HEAT,
    "pace": BATTERY,
    "kind-exercise": STRETCH,
    "kind-posture": CHAIR,
    "kind-diet": _pair(APPLE, LEAF),
}


# The body, side view facing right, for "which part of the body this item is for".
BODY = (
    f'<circle cx="35" cy="9" r="5.5" fill="{GHOST}" stroke="none"/><path d="M33.5 15 L32.5 18.5" stroke-width="4"/>'
    '<path d="M32 20 L31 37" stroke-width="9"/><path d="M31 38 L32 50 L31 60" stroke-width="5.5"/>'
    '<path d="M33 21 L36 31 L39 38" stroke-width="4"/><path d="M31 60 H36" stroke-width="3"/>'
)
# Each body area as the shapes that mark it on BODY (orange, like the drawings' arrows).
AREA_MARKS = {
    "neck": '<ellipse cx="32.5" cy="16.5" rx="3.5" ry="3"/>',
    "upper_back": '<ellipse cx="27.5" cy="24" rx="3.5" ry="5.5"/>',
    "lower_back": '<ellipse cx="27" cy="33" rx="3.5" ry="4.5"/>',
    "core": '<ellipse cx="35.5" cy="31" rx="3.5" ry="5"/>',
    "hips": '<ellipse cx="30" cy="39.5" rx="6" ry="4"/>',
    "legs": '<ellipse cx="32" cy="45" rx="4" ry="7"/><ellipse cx="31.5" cy="55.5" rx="3.5" ry="5.5"/>',
    "whole_body": '<ellipse cx="32" cy="34" rx="13" ry="29" fill-opacity=".3"/>',
}


def body_area_figure(area: str) -> str:
    """BODY with one area marked, as markup for a 64 x 64 cell (the caller draws the outline style)."""
    # The body pale, the area strong: the mark is what the picture is about.
    return f'<g stroke="{GHOST}">{BODY}</g><g fill="{SLASH}" fill-opacity=".85" stroke="none">{AREA_MARKS[area]}</g>'


def render_kind_and_area(kind_icon: str, area: str) -> str:
    """A coach's own item with no drawing: its kind's pictogram beside the body with the item's area marked."""
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 128 64" role="img">'
        f"<style>{REDUCED_MOTION}</style>"
        f'<g fill="none" stroke="{BRAND}" stroke-width="3" stroke-linecap="round" stroke-linejoin="round">'
        f'{ICONS[kind_icon]}<g transform="translate(64 0)">{body_area_figure(area)}</g></g></svg>'
    )


def render_icon(name: str) -> str:
    """A pictogram as a standalone SVG document (no animation)."""
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" role="img">'
        # Still today; the rule is there so every library picture honours reduced motion alike.
        f"<style>{REDUCED_MOTION}</style>"
        f'<g fill="none" stroke="{BRAND}" stroke-width="3" stroke-linecap="round" stroke-linejoin="round">'
        f"{ICONS[name]}</g></svg>"
    )
