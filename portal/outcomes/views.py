"""The Outcomes page (admins: every clinic; coaches: their own patients) and its downloads."""

from __future__ import annotations

from flask import Response, abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from portal import audit
from portal.auth.access import admin_required
from portal.care.red_flags import TIER_RULES, TIERS_BY_RANK
from portal.extensions import db
from portal.outcomes import export
from portal.outcomes import services as outcome_service
from portal.outcomes.blueprint import bp
from portal.outcomes.forms import CUSTOM, OutcomeFilterForm
from portal.timeutil import local_today


def _names() -> dict[str, dict]:
    """Clinic, coach and program names, and the words for groups without one."""
    names = outcome_service.labels()
    names["clinic"][None] = _("No clinic")
    names["coach"][None] = _("No coach")
    names["program"][None] = _("Plans made without a program")
    names[outcome_service.ALL] = {0: _("All patients")}
    return names


def _viewer_coach_id() -> int | None:
    return current_user.id if current_user.is_coach else None


def _filter_form(names: dict[str, dict]) -> OutcomeFilterForm:
    form = OutcomeFilterForm(request.args)
    choices = {dim: {k: v for k, v in names[dim].items() if k is not None} for dim in ("clinic", "coach", "program")}
    form.set_choices(choices, _viewer_coach_id())
    return form


def _filters(form: OutcomeFilterForm) -> outcome_service.Filters:
    """The form's filters; a coach's are always narrowed to their own patients."""
    filters = form.filters()
    coach_id = _viewer_coach_id()
    if coach_id is not None:
        filters = outcome_service.Filters(**{**vars(filters), "coach_id": coach_id})
    return filters


def _link_args(form: OutcomeFilterForm, dim: str, key: int | None) -> dict | None:
    """The address arguments of a breakdown row's filtered view (None: no view for that row)."""
    args = form.query_args()
    if dim == "program":
        args["program"] = CUSTOM if key is None else str(key)
    elif key is None:
        return None
    else:
        args[dim] = str(key)
    return args


def _filter_lines(form: OutcomeFilterForm) -> list[tuple[str, str]]:
    """Each filter in words, for the CSV's header lines."""
    lines = []
    for field in (form.clinic, form.coach, form.program, form.weeks):
        chosen = dict(field.choices).get(field.data or "", "")
        lines.append((str(field.label.text), chosen))
    first, last = form.started_from.data, form.started_to.data
    between = f"{first.isoformat() if first else '…'} – {last.isoformat() if last else '…'}"
    lines.append((_("Started between"), between if first or last else _("Any")))
    if current_user.is_coach:
        lines.append((_("Patients"), _("Own patients of %(name)s", name=current_user.name)))
    return lines


def _today():
    return local_today(None)  # the practice's day


@bp.route("/")
def page():
    names = _names()
    form = _filter_form(names)
    overview = None
    if current_user.is_admin:
        overview = {
            "alerts": outcome_service.open_alerts_by_clinic(),
            "coaches": outcome_service.coach_loads(_today()),
        }
    if not form.validate():
        return render_template("outcomes/page.html", form=form, figures=None, names=names, overview=overview), 400
    compare = form.compare.data or "program"
    figures = outcome_service.report(_filters(form), _today(), compare=compare, names=names)
    groups = [figures.overall, *figures.groups[compare]]
    return render_template(
        "outcomes/page.html",
        form=form,
        figures=figures,
        names=names,
        overview=overview,
        compare=compare,
        rows=[(group, index == 0) for index, group in enumerate(groups)],
        charts=_charts(figures, groups),
        filter_lines=_filter_lines(form),
        link_args=lambda dim, key: _link_args(form, dim, key),
        min_group=outcome_service.MIN_GROUP,
        tiers=[(tier.value, TIER_RULES[tier].severity_label) for tier in TIERS_BY_RANK],
    )


def _charts(figures: outcome_service.Report, groups: list[outcome_service.Group]) -> dict:
    """What the three charts draw (and their tables list): only figures over enough patients.

    ``groups`` starts with all patients; a compared group holding every one of them (the only
    program of a filtered view) would draw the same line again, so it is left out of the charts.
    Weeks stop at the last one with a figure to show."""
    overall = groups[0]
    drawn = [overall] + [g for g in groups[1:] if g.started != overall.started]
    weeks = list(range(outcome_service.CHART_WEEKS + 1))
    series = []
    for group in drawn:
        points = {p.week: p for p in figures.weekly.get((group.dim, group.key), [])}
        shown = [points[week] if week in points and points[week].shown else None for week in weeks]
        if any(shown):
            series.append(
                {
                    "label": group.label,
                    "median": [round(p.median, 2) if p else None for p in shown],
                    "q1": [round(p.q1, 2) if p else None for p in shown],
                    "q3": [round(p.q3, 2) if p else None for p in shown],
                    "n": [points[w].n if w in points else 0 for w in weeks],
                }
            )
    last = max((w for s in series for w, m in enumerate(s["median"]) if m is not None), default=-1)
    weeks = weeks[: last + 1]
    for s in series:
        for name in ("median", "q1", "q3", "n"):
            s[name] = s[name][: last + 1]
    compared = [g for g in drawn if g.shown and g.pain.shown]
    shares = {
        "labels": [g.label for g in compared],
        "improved": [round(g.pain.share(g.pain.improved), 1) for g in compared],
        "unchanged": [round(g.pain.share(g.pain.unchanged), 1) for g in compared],
        "worse": [round(g.pain.share(g.pain.worse), 1) for g in compared],
        "n": [g.pain.n for g in compared],
        "first_group": 1 if compared and compared[0] is overall else 0,  # where the compared groups begin
    }
    bands = [f"{10 * i}–{10 * i + 9}" if i < 9 else "90–100" for i in range(10)]
    # A band of 1 to 4 patients hides its count, as a small group hides its shares (0 singles nobody out).
    counts = [c if c == 0 or outcome_service.comparable(c) else None for c in figures.adherence_bins]
    adherence = {
        "labels": bands,
        "counts": counts if figures.overall.adherence.shown else [],
        "min": outcome_service.MIN_GROUP,
    }
    return {"weeks": weeks, "weekly": series, "shares": shares, "adherence": adherence}


def _csv_response(lines, filename: str) -> Response:
    return Response(
        "".join(lines),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@bp.route("/report.csv")
def report_csv():
    names = _names()
    form = _filter_form(names)
    if not form.validate():
        abort(400, " ".join(error for errors in form.errors.values() for error in errors))
    today = _today()
    figures = outcome_service.report(_filters(form), today, names=names)
    body = list(export.group_csv(figures, _filter_lines(form)))
    audit.record("outcomes.export", filters=form.query_args(), patients=figures.overall.started)
    db.session.commit()
    return _csv_response(body, f"holistiq-outcomes-{today.isoformat()}.csv")


@bp.route("/patients.csv")
@admin_required
def patients_csv():
    names = _names()
    form = _filter_form(names)
    if not form.validate():
        abort(400, " ".join(error for errors in form.errors.values() for error in errors))
    today = _today()
    rows = outcome_service.patient_rows(_filters(form), today, current_app.config["SECRET_KEY"])
    body = list(export.patient_csv(rows, names, today))
    audit.record("outcomes.patient_export", filters=form.query_args(), patients=len(rows))
    db.session.commit()
    return _csv_response(body, f"holistiq-outcomes-patients-{today.isoformat()}.csv")
