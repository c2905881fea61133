"""Every library item shows a picture: movement drawings, pictograms, alt text, caching, pages."""

from __future__ import annotations

import json
import math
import re
from xml.etree import ElementTree

import pytest

from portal.auth.models import Role
from portal.exercises.figures import catalog
from portal.exercises.library import STARTER_LIBRARY, load_starter_library
from portal.exercises.models import LibraryItem
from portal.extensions import db
from tests.plan_factories import make_item, make_plan

SVG_NS = "{http://www.w3.org/2000/svg}"
SPANISH_ALTS = catalog.DATA_DIR / "es" / catalog.ALT_TRANSLATIONS
IMG = re.compile(r'<img src="(/library/pictures/[^"]+\.svg)" alt="([^"]*)" class="item-picture item-picture-(\w+)"')


@pytest.fixture
def starter(db):
    result = load_starter_library()
    assert result.ok
    db.session.commit()
    return list(db.session.scalars(db.select(LibraryItem).where(LibraryItem.is_active.is_(True))))


def _starter_entries() -> list[dict]:
    with open(STARTER_LIBRARY, encoding="utf-8") as handle:
        return json.load(handle)["items"]


def test_every_starter_movement_has_a_pose_and_every_other_item_a_pictogram(app):
    entries = _starter_entries()
    movements = {e["slug"] for e in entries if e["kind"] == "exercise"}
    others = {e["slug"] for e in entries if e["kind"] != "exercise"}
    assert len(movements) == 46
    assert catalog.movement_slugs() == movements
    assert set(catalog.pictogram_slugs()) == others
    with app.test_request_context():
        for pictogram in set(catalog.pictogram_slugs().values()) | set(catalog.KIND_ICONS.values()):
            assert catalog.drawing(f"p-{pictogram}") is not None, pictogram
            assert catalog.pictogram_alt(pictogram).strip()


def test_every_active_starter_item_renders_a_well_formed_picture_with_alt_text(app, starter):
    assert len(starter) == 98
    with app.test_request_context():
        for item in starter:
            picture = catalog.picture_for(item)
            assert len(picture.alt) > 10, item.slug
            assert picture.name == (f"m-{item.slug}" if item.kind == "exercise" else picture.name)
            svg = catalog.drawing(picture.name).svg.decode()
            root = ElementTree.fromstring(svg)  # well-formed XML or this raises
            assert root.tag == f"{SVG_NS}svg" and root.get("viewBox")
            assert root.get("width") is None and root.get("height") is None  # scales to its box
            assert "@media (prefers-reduced-motion:reduce){*{animation:none!important}}" in svg
            if item.kind == "exercise":
                assert picture.animated and "@keyframes" in svg
                # Reduced motion leaves the end pose: every moving group has a static transform.
                style = root.find(f"{SVG_NS}style").text
                moving = set(re.findall(r"\.(f\d+)\{animation", style))
                static = set(re.findall(r"\.(f\d+)\{transform", style))
                assert moving and moving <= static


def test_movement_alt_text_describes_start_and_end_in_english_and_spanish():
    with open(catalog.POSES_FILE, encoding="utf-8") as handle:
        movements = json.load(handle)["movements"]
    with open(catalog.PICTOGRAMS_FILE, encoding="utf-8") as handle:
        pictograms = json.load(handle)["alt"]
    with open(SPANISH_ALTS, encoding="utf-8") as handle:
        spanish = json.load(handle)
    for slug, spec in movements.items():
        for moment in ("start", "end"):
            assert spec["alt"][moment]["en"].strip().endswith("."), slug
            assert spanish["movements"][slug][moment].strip().endswith("."), slug
    for name, texts in pictograms.items():
        assert texts["en"].strip().endswith(".") and spanish["pictograms"][name].strip().endswith("."), name
    # Nothing translated that is not drawn (a renamed slug would leave its Spanish behind).
    assert set(spanish["movements"]) == set(movements) and set(spanish["pictograms"]) == set(pictograms)


@pytest.fixture
def spanish_patient(make_user, coach):
    return make_user(Role.PATIENT, coach=coach, language="es")


def test_spanish_reader_gets_the_alt_text_in_spanish(starter, login_as, spanish_patient, patient_client):
    by_slug = {item.slug: item for item in starter}
    client = login_as(spanish_patient)
    bridge = client.get(f"/library/{by_slug['glute-bridge'].id}").get_data(as_text=True)
    _src, alt, _size = IMG.search(bridge).groups()
    assert alt.startswith("Inicio: Acostado boca arriba") and "Final: La cadera sube" in alt
    pillow = client.get(f"/library/{by_slug['side-sleeping-knee-pillow'].id}").get_data(as_text=True)
    assert IMG.search(pillow).group(2).startswith("Una persona acostada de lado en la cama")
    make_plan(spanish_patient, items=[by_slug["cat-cow"], by_slug["leafy-greens-daily"]])
    today = [alt for _src, alt, _size in IMG.findall(client.get("/me/").get_data(as_text=True))]
    assert today[0].startswith("Inicio: En cuatro puntos") and today[1].startswith("Una hoja verde")
    # The same picture, its English words for an English reader.
    english = patient_client.get(f"/library/{by_slug['glute-bridge'].id}").get_data(as_text=True)
    assert IMG.search(english).group(2).startswith("Start: Lying on the back")


def test_item_page_shows_the_large_drawing_and_the_drawing_is_served_cached(starter, patient_client):
    bridge = next(item for item in starter if item.slug == "glute-bridge")
    html = patient_client.get(f"/library/{bridge.id}").get_data(as_text=True)
    src, alt, size = IMG.search(html).groups()
    assert size == "lg" and alt.startswith("Start: Lying on the back") and "hips lift" in alt
    response = patient_client.get(src)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert "immutable" in response.headers["Cache-Control"] and "private" in response.headers["Cache-Control"]
    assert "max-age=31536000" in response.headers["Cache-Control"]
    etag = response.headers["ETag"]
    assert patient_client.get(src, headers={"If-None-Match": etag}).status_code == 304
    # An old content hash (a page from before a deploy) is sent on to the current drawing.
    old = re.sub(r"\.[0-9a-f]{16}\.svg$", ".0000000000000000.svg", src)
    assert patient_client.get(old).headers["Location"].endswith(src)
    assert patient_client.get("/library/pictures/m-no-such-item.0000000000000000.svg").status_code == 404


def test_drawings_need_a_signed_in_user(client, starter):
    name = catalog.drawing("m-bird-dog")
    response = client.get(f"/library/pictures/m-bird-dog.{name.digest}.svg")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_coach_item_without_a_drawing_shows_its_kinds_pictogram_and_body_area(coach_client):
    for kind, icon in catalog.KIND_ICONS.items():
        item = make_item(kind=kind, title=f"Coach's own {kind}")
        html = coach_client.get(f"/library/{item.id}").get_data(as_text=True)
        src, alt, _size = IMG.search(html).groups()
        assert f"/a-{icon}--{item.body_area}." in src and alt


def test_today_and_print_show_a_picture_per_item_with_flat_statement_counts(starter, patient, patient_client, queries):
    by_slug = {item.slug: item for item in starter}
    few = [by_slug["cat-cow"], by_slug["screen-at-eye-level"]]
    plan = make_plan(patient, items=few)
    patient_client.get("/me/")  # the first page after sign-in also checks consent, once per session
    with queries() as small:
        html = patient_client.get("/me/").get_data(as_text=True)
    thumbs = IMG.findall(html)
    assert [size for _src, _alt, size in thumbs] == ["sm", "sm"] and all(alt for _src, alt, _size in thumbs)
    db.session.delete(plan)
    db.session.commit()
    many = [
        by_slug[s]
        for s in (
            "cat-cow",
            "bird-dog",
            "dead-bug",
            "glute-bridge",
            "lumbar-roll",
            "fatty-fish-twice-a-week",
            "smart-snacks",
            "wall-slides",
        )
    ]
    make_plan(patient, items=many)
    with queries() as large:
        html = patient_client.get("/me/").get_data(as_text=True)
    assert len(IMG.findall(html)) == len(many)
    assert len(large) == len(small)

    printed = patient_client.get("/me/plan/print").get_data(as_text=True)
    # Movements print their start and end positions as two stills; habits and tips their pictogram.
    pictograms = IMG.findall(printed)
    assert len(pictograms) == 3 and {size for _src, _alt, size in pictograms} == {"xs"}
    stills = re.findall(
        r'<img src="/library/pictures/([se])-([a-z-]+)\.[0-9a-f]{16}\.svg" alt="([^"]+)" class="print-still-img"',
        printed,
    )
    movements = [item.slug for item in many if item.kind == "exercise"]
    assert [(moment, slug) for moment, slug, _alt in stills] == [(m, slug) for slug in movements for m in "se"]
    assert all(alt.startswith(("Start: ", "End: ")) for _m, _s, alt in stills)
    assert '<div class="print-items">' in printed


def test_item_page_statement_count_is_the_same_for_a_drawing_and_a_pictogram(starter, patient_client, queries, db):
    ids = {item.slug: item.id for item in starter}
    counts = []
    patient_client.get("/me/")  # the first page after sign-in also checks consent, once per session
    for slug in ("bird-dog", "leafy-greens-daily", "lumbar-roll"):
        db.session.expire_all()  # each request reads its item as a fresh request does, not from the test's session
        with queries() as stmts:
            assert patient_client.get(f"/library/{ids[slug]}").status_code == 200
        counts.append(len(stmts))
    assert len(set(counts)) == 1


def test_a_coachs_own_item_shows_its_kind_beside_its_body_area_never_a_generic_icon(app):
    """An item with no drawing of its own: the kind's pictogram and the body with the item's area marked."""
    from types import SimpleNamespace

    from portal.exercises.figures.pictograms import AREA_MARKS
    from portal.exercises.models import BODY_AREAS

    assert set(AREA_MARKS) == set(BODY_AREAS)  # every area a coach can choose has its mark
    digests = set()
    with app.test_request_context():
        for kind, icon in catalog.KIND_ICONS.items():
            for area in BODY_AREAS:
                item = SimpleNamespace(slug=f"my-own-{kind}-{area}", kind=kind, body_area=area)
                picture = catalog.picture_for(item)
                assert picture.name == f"a-{icon}--{area}"
                assert str(BODY_AREAS[area]).lower() in picture.alt
                svg = catalog.drawing(picture.name).svg.decode()
                root = ElementTree.fromstring(svg)
                assert root.get("viewBox") == "0 0 128 64"
                assert AREA_MARKS[area] in svg
                digests.add(picture.digest)
        # Spanish readers get the body area in Spanish.
        from portal.i18n import force_locale

        with force_locale("es"):
            item = SimpleNamespace(slug="mi-ejercicio", kind="exercise", body_area="lower_back")
            assert "espalda baja" in catalog.picture_for(item).alt.lower()
    assert len(digests) == len(catalog.KIND_ICONS) * len(BODY_AREAS)  # no two alike
    assert "dumbbell" not in catalog.pictogram_alt("kind-exercise").lower()
    assert catalog.drawing("a-kind-exercise--nowhere") is None and catalog.drawing("a-nothing--neck") is None


def test_a_movements_stills_are_its_start_and_its_end_at_one_scale(app):
    """The printed stills: the start alone; the end with the start's outline and the arrow; the frame of the drawing."""
    with app.test_request_context():
        for slug in catalog.movement_slugs():
            animated = catalog.drawing(f"m-{slug}").svg.decode()
            start = catalog.drawing(f"s-{slug}").svg.decode()
            end = catalog.drawing(f"e-{slug}").svg.decode()
            box = re.search(r'viewBox="([^"]+)"', animated).group(1)
            assert (
                re.search(r'viewBox="([^"]+)"', start).group(1) == box == re.search(r'viewBox="([^"]+)"', end).group(1)
            )
            for still in (start, end):
                assert "@keyframes" not in still and "animation" not in still.replace("animation:none", "")
            assert start != end, slug
        assert catalog.drawing("s-no-such-movement") is None


def test_target_areas_are_shaded_and_small_movements_have_a_close_up(app):
    """As on therapists' sheets: the muscle stretched or worked is shaded; a chin tuck gets a magnified inset;
    belly breathing shows the hand resting on the belly."""
    from portal.exercises.figures.figure import Pose, points
    from portal.exercises.figures.scene import SHADES

    poses = catalog._poses()
    shaded = {slug: spec["shade"] for slug, spec in poses.items() if spec.get("shade")}
    assert len(shaded) >= 30
    with app.test_request_context():
        for slug, areas in shaded.items():
            assert set(areas) <= set(SHADES), slug
            for prefix in ("m", "e"):
                svg = catalog.drawing(f"{prefix}-{slug}").svg.decode()
                assert all(f'data-target="{area}"' in svg for area in areas), slug
        assert shaded["standing-hip-flexor-stretch"] == ["back_hip_front"]
        assert shaded["chin-tucks"] == ["neck"] and shaded["diaphragmatic-breathing"] == ["belly"]
        chin = catalog.drawing("m-chin-tucks").svg.decode()
        assert 'data-inset="head"' in chin and "<clipPath" in chin
    breathing = Pose.from_data(poses["diaphragmatic-breathing"]["end"])
    pts = points(breathing)
    belly = ((pts["pelvis"][0] + pts["mid"][0]) / 2, (pts["pelvis"][1] + pts["mid"][1]) / 2)
    assert math.dist(pts["near_hand"], belly) < 16  # the hand is on the belly, not in the air


def _placed_poses(slug: str) -> tuple[dict, dict]:
    """A movement's start and end joint positions as drawn (resting on the floor, y up)."""
    from portal.exercises.figures.figure import Pose
    from portal.exercises.figures.scene import _placed

    spec = catalog._poses()[slug]
    start = Pose.from_data(spec["start"])
    end = Pose.from_data(spec["end"], base=start)
    view, anchor = spec.get("view", "side"), spec.get("anchor", "pelvis")
    return _placed(start, view, anchor, 0, True), _placed(end, view, anchor, 0, True)


def test_pelvic_tilts_show_the_pelvis_rocking_the_low_back_flat_with_a_curved_arrow(app):
    """The low back starts arched off the floor and ends flat on it; the arrow curves round the pelvis."""
    start, end = _placed_poses("pelvic-tilts")
    arch = start["mid"][1] - (start["pelvis"][1] + start["chest"][1]) / 2
    assert arch >= 7  # the low back clears the floor: a gap a reader sees under it
    assert abs(end["mid"][1] - end["pelvis"][1]) < 1 and abs(end["chest"][1] - end["pelvis"][1]) < 1  # flat
    tilt = math.degrees(math.atan2(start["mid"][1] - start["pelvis"][1], start["pelvis"][0] - start["mid"][0]))
    assert tilt >= 15  # the pelvis and low back turn visibly, not by a few pixels
    with app.test_request_context():
        for prefix in ("m", "e"):
            svg = catalog.drawing(f"{prefix}-pelvic-tilts").svg.decode()
            turn = re.search(r'<g data-turn="pelvis"><path d="M[-\d.,]+ A', svg)
            assert turn, prefix
            assert 'data-target="lower_back"' in svg
        assert "data-turn" not in catalog.drawing("s-pelvic-tilts").svg.decode()  # the start: no arrow yet


def test_side_plank_from_the_knees_rests_on_forearm_and_knee_with_the_hips_in_line(app):
    """The lower elbow and knee lie on the mat, the hips lift into the line from knee to shoulder,
    the knees stay bent (which tells it from the full side plank, on the feet)."""
    start, end = _placed_poses("side-plank-from-knees")
    spec = catalog._poses()["side-plank-from-knees"]
    mat = next(p for p in spec["props"] if p["type"] == "mat")["top"]
    for pts in (start, end):
        assert pts["far_elbow"][1] <= mat and pts["far_knee"][1] <= mat  # both on the mat
    assert end["pelvis"][1] - start["pelvis"][1] >= 12  # the hips lift
    knee, hip, pelvis, chest = end["far_knee"], end["far_hip"], end["pelvis"], end["chest"]
    thigh = math.degrees(math.atan2(hip[1] - knee[1], knee[0] - hip[0]))
    trunk = math.degrees(math.atan2(chest[1] - pelvis[1], pelvis[0] - chest[0]))
    assert thigh >= 12 and abs(thigh - trunk) <= 6  # the lower thigh rises in line with the trunk: hips not sagging
    assert all(abs(k) >= 60 for k in spec["end"]["knee"])  # bent: on the knees
    full = catalog._poses()["full-side-plank"]
    assert all(abs(k) <= 10 for k in full["end"]["knee"])  # the full plank is on straight legs
    with app.test_request_context():
        assert catalog.drawing("e-side-plank-from-knees").svg != catalog.drawing("e-full-side-plank").svg


def test_full_side_plank_rests_on_forearm_and_foot_on_the_mat(app):
    start, end = _placed_poses("full-side-plank")
    spec = catalog._poses()["full-side-plank"]
    mat = next(p for p in spec["props"] if p["type"] == "mat")["top"]
    for pts in (start, end):
        assert pts["far_elbow"][1] <= mat and pts["far_toe"][1] <= mat
    assert end["pelvis"][1] - start["pelvis"][1] >= 10


def test_the_standing_hip_flexor_stretch_is_a_lunge_with_hands_on_hips_not_a_walking_step():
    """Walking swaps the legs; the stretch keeps a long stance, back heel up, bends the front knee, hands on the hips
    with the elbows back."""
    start, end = _placed_poses("standing-hip-flexor-stretch")
    spec = catalog._poses()["standing-hip-flexor-stretch"]
    walk = catalog._poses()["short-easy-walks"]["start"]
    stance = spec["start"]["hip"][0] - spec["start"]["hip"][1]
    assert stance >= (walk["hip"][0] - walk["hip"][1]) + 25  # a longer stride than a walking step
    assert spec["end"]["knee"][0] >= 60 and spec["end"]["ankle"][1] >= 30  # front knee bent, back heel up
    for pts in (start, end):
        hand, elbow, pelvis = pts["near_hand"], pts["near_elbow"], pts["pelvis"]
        assert 5 <= hand[1] - pelvis[1] <= 30 and abs(hand[0] - pelvis[0]) <= 12  # the hand at the waist
        assert elbow[0] <= pelvis[0] - 10  # the elbow back: hands on hips, not a swinging arm
    assert end["pelvis"][0] - start["pelvis"][0] >= 12  # the hips move forward


def test_ankle_pumps_have_a_close_up_of_the_foot_above_the_figure(app):
    with app.test_request_context():
        svg = catalog.drawing("m-ankle-pumps").svg.decode()
    assert 'data-inset="near_ankle"' in svg
    clip = re.search(r'<clipPath id="inset-near_ankle"><circle cx="([-\d.]+)" cy="([-\d.]+)" r="([-\d.]+)"/>', svg)
    _start, end = _placed_poses("ankle-pumps")
    cy, r = float(clip.group(2)), float(clip.group(3))
    assert cy + r < -end["near_toe"][1] - 4  # the circle clears the foot it magnifies (SVG y runs down)


def test_posture_pictograms_show_their_object(app):
    """The car is a car (wheels, tail lights, the legs' swing in); the knee pillow and the lumbar roll stand out."""
    from portal.exercises.figures.figure import PROP_FILL, Pose
    from portal.exercises.figures.scene import _placed

    with app.test_request_context():
        car = catalog.drawing("p-car-door").svg.decode()
    assert '<g data-turn="pelvis">' in car and car.count('fill="#c8374b"') == 1 and 'fill="#52606d"' in car
    figures = catalog._pictograms()["figures"]
    sleeper = figures["side-sleep-pillow"]
    knee_pillow = sleeper["props"][2]
    assert knee_pillow["fill"] != PROP_FILL and knee_pillow["height"] >= 24
    pts = _placed(Pose.from_data(sleeper["start"]), "front", "pelvis", sleeper["lift"][0], True)  # as drawn, on the bed
    knees = sorted(pts[k][1] for k in ("near_knee", "far_knee"))
    assert knees[0] - 8 <= knee_pillow["y"] <= knees[1] + 8  # between the knees
    roll = figures["lumbar-roll"]["props"][1]
    assert roll["fill"] != PROP_FILL and roll["width"] >= 12
    assert figures["micro-break"]["view"] == "front"  # both arms up in a V, not one stick over the head


def test_clamshells_open_wide_and_knee_rocks_differ_from_the_lying_twist_at_a_glance():
    start, end = _placed_poses("side-lying-clamshells")
    assert end["near_knee"][1] - start["near_knee"][1] >= 20  # the top knee opens: seen, not guessed
    rocks, twist = catalog._poses()["lower-trunk-rotation"], catalog._poses()["lying-spinal-twist"]
    # Both lie seen from above with the knees going to one side: the arms tell them apart (low and out, or a T).
    assert abs(rocks["start"]["shoulder"][0] - twist["start"]["shoulder"][0]) >= 30


def test_belly_breathing_shows_the_belly_rising_with_an_arrow(app):
    with app.test_request_context():
        for prefix in ("m", "e"):
            assert '<g data-rise="near_hand">' in catalog.drawing(f"{prefix}-diaphragmatic-breathing").svg.decode()
        assert "data-rise" not in catalog.drawing("s-diaphragmatic-breathing").svg.decode()


def test_a_close_up_shows_the_figure_by_reference_not_a_second_copy(app):
    """The inset magnifies the same figures through <use>, so a drawing with a close-up weighs about what one
    without does (the pages load every drawing of a plan)."""
    with app.test_request_context():
        for slug in ("chin-tucks", "ankle-pumps"):
            svg = catalog.drawing(f"m-{slug}").svg.decode()
            assert svg.count('class="f1"') == 1 and '<use href="#figure"/>' in svg, slug
            assert len(svg) < 8_000, slug
