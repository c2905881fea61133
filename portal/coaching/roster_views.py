"""Coach pages: the roster, the coach's home (patients ordered by name or by who needs attention)."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import bindparam, func

from portal.care import plans as plan_service
from portal.care.attention import attention_params, order_by_attention
from portal.care.intake import finished_days
from portal.coaching import review as review_service
from portal.coaching.blueprint import bp
from portal.coaching.forms import RosterSearchForm
from portal.extensions import db
from portal.messaging.services import unread_by_patient
from portal.pagination import page_arg, paginate_rows, paginate_statements
from portal.sqlutil import KeptStatement
from portal.timeutil import local_today, utcnow

# A patient is new to the coach while they have no plan or their plan started less than this many days ago.
NEW_PATIENT_DAYS = 14


@bp.route("/")
def roster():
    form = RosterSearchForm(request.args)
    if not form.validate():
        return render_template("coaching/roster.html", form=form, page=None), 400
    sort = review_service.roster_sort(request.args.get("sort"))
    if sort is None:
        abort(400, _("Sort the patients by name or by who needs attention."))
    today, now = local_today(current_user.tz), utcnow()
    if form.q.data:
        query = plan_service.roster_query(current_user, form.q.data)
        if sort == "attention":
            query = order_by_attention(query, today, now)
        page = paginate_rows(query, page_arg(), plan_service.ROSTER_PAGE_SIZE)
    else:
        # The roster without a search, on every visit: its statements kept, the coach and the times bound.
        values = {"coach_id": current_user.id, **attention_params(today, now)}
        page = paginate_statements(
            _roster_count(), review_service.roster_page(sort), values, page_arg(), plan_service.ROSTER_PAGE_SIZE
        )
    ids = [row[0].id for row in page.items]
    # Unread messages per patient on this page: one grouped query.
    unread = unread_by_patient(ids)
    # Check-in, adherence and alert columns: a few grouped queries for the page. The ranking's order of the roster
    # without a search also read where it placed each patient (the reason shown): not read again.
    placed = review_service.placed(page.items) if not form.q.data and sort == "attention" else None
    review = review_service.review_for(ids, today, now, placed)
    for patient, plan in ((row[0], row[1]) for row in page.items):
        review[patient.id].has_plan = plan is not None
    return render_template(
        "coaching/roster.html",
        # The intake's state of new patients (no plan yet, or a plan younger than two weeks): one query.
        intake_days=finished_days(ids),
        new_since=today - timedelta(days=NEW_PATIENT_DAYS),
        form=form,
        page=page,
        unread=unread,
        review=review,
        sort=sort,
        sorts=review_service.ROSTER_SORTS,
    )


# The roster without a search runs on every visit: its two statements are kept, with the coach's id, the
# ranking's times and the page's ``limit`` and ``offset`` bound (building the ranking's SELECT and its cache
# key each visit cost more than running it); the page's is review_service.roster_page, which the API shares.
def _build_roster_count():
    """The COUNT of the coach's patients."""
    return db.select(func.count()).select_from(plan_service.roster_statement(bindparam("coach_id")).subquery())


_roster_count = KeptStatement(_build_roster_count)
