"""Library pages: browse and read items (everyone signed in); coaches add items and change their own,
duplicate the others; admins change every item."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage

from portal.auth.access import coach_required, staff_required
from portal.errors import BadInput
from portal.exercises.blueprint import bp
from portal.exercises.dosage import describe_dose, describe_weekdays
from portal.exercises.figures.catalog import Picture, drawing, picture_for, still_pictures
from portal.exercises.forms import (
    ActionForm,
    LibraryFilterForm,
    LibraryItemForm,
    MediaForm,
    NewLibraryItemForm,
    TranslationForm,
)
from portal.exercises.library import (
    can_duplicate,
    can_manage,
    create_item,
    duplicate_item,
    library_query,
    require_manage,
    set_item_active,
    update_item,
)
from portal.exercises.media import (
    UPLOAD_REQUEST_LIMIT,
    MediaTooLarge,
    Prepared,
    attach_media,
    extension_for,
    prepare_upload,
    remove_media,
)
from portal.exercises.models import LibraryItem
from portal.exercises.translations import (
    TRANSLATED_LANGUAGES,
    ItemText,
    english_text,
    item_texts,
    save_translation,
    translated_languages,
    translation_for,
)
from portal.extensions import db
from portal.i18n import DEFAULT_LANGUAGE, current_language
from portal.mediastore import media_store
from portal.pagination import page_arg
from portal.security import large_upload
from portal.state import portal_state

PAGE_SIZE = 24
# A drawing's URL carries its content hash, so a browser may keep it for a year.
PICTURE_MAX_AGE = 365 * 24 * 3600


@bp.app_template_global("item_picture")
def item_picture(item: LibraryItem) -> Picture:
    """The picture an item shows (no query: drawings come from the data files)."""
    return picture_for(item)


@bp.app_template_global("item_stills")
def item_stills(item: LibraryItem) -> tuple[Picture, Picture] | None:
    """A movement's start and end positions as still pictures (the printed plan), else None."""
    return still_pictures(item)


@bp.app_template_global("picture_url")
def picture_url(picture: Picture) -> str:
    return url_for("exercises.picture", name=picture.name, digest=picture.digest)


@bp.route("/pictures/<name>.<digest>.svg")
@login_required
def picture(name: str, digest: str):
    """A library drawing. Its content is the same for everyone and holds no health data; the URL
    changes with the content, so it is cached privately for a year and revalidated by ETag."""
    found = drawing(name)
    if found is None:
        abort(404)
    if digest != found.digest:
        # A page rendered before a deploy asks for the old drawing: send the current one.
        return redirect(url_for("exercises.picture", name=name, digest=found.digest))
    response = current_app.response_class(found.svg, mimetype="image/svg+xml")
    response.set_etag(found.digest)
    response.cache_control.private = True
    response.cache_control.max_age = PICTURE_MAX_AGE
    response.cache_control.immutable = True
    return response.make_conditional(request)


@bp.app_template_filter("dose")
def dose_filter(item) -> str:
    """A plan, program or library item's dose in words (library items use their defaults)."""
    if isinstance(item, LibraryItem):
        return describe_dose(
            item.default_sets, item.default_reps, item.default_hold_seconds, item.default_times_per_day
        )
    return describe_dose(item.sets, item.reps, item.hold_seconds, item.times_per_day)


@bp.app_template_filter("weekdays")
def weekdays_filter(weekdays: str) -> str:
    return describe_weekdays(weekdays or "")


@bp.app_template_global("item_text")
def item_text_global(item: LibraryItem) -> ItemText:
    """An item's text in the request's language, for any template.

    The first lookup on a page loads the translations of every library item the request has
    loaded so far, in one statement, so a page costs the same for 3 items or 30; an item
    loaded later costs at most one more statement for its batch."""
    language = current_language()
    if language == DEFAULT_LANGUAGE:
        return english_text(item)
    cache: dict[int, ItemText] = g.setdefault("item_texts", {})
    if item.id not in cache:
        loaded = [obj for obj in db.session.identity_map.values() if isinstance(obj, LibraryItem)]
        pending = {obj.id: obj for obj in loaded if obj.id not in cache}
        pending[item.id] = item
        cache.update(item_texts(pending.values(), language))
    return cache[item.id]


@bp.route("/")
@login_required
def browse():
    form = LibraryFilterForm(request.args)
    if not form.validate():
        return render_template("exercises/browse.html", form=form, pagination=None), 400
    include_retired = current_user.is_staff and form.retired.data == "yes"
    language = current_language()
    query = library_query(
        form.q.data,
        form.kind.data,
        form.area.data,
        include_retired=include_retired,
        locale=language if language != DEFAULT_LANGUAGE else None,
    )
    pagination = db.paginate(query, page=page_arg(), per_page=PAGE_SIZE, max_per_page=PAGE_SIZE, error_out=False)
    return render_template("exercises/browse.html", form=form, pagination=pagination)


def _item_or_404(item_id: int) -> LibraryItem:
    item = db.session.get(LibraryItem, item_id)
    if item is None:
        abort(404)
    return item


# A patient reads an item with their own dose, and may read a retired item their plan still
# has. Plans sit above the library (care imports the library, never the reverse), so the
# patients feature registers the lookup from its init_app: (patient id, library item id) -> plan
# item or None.
def register_plan_item_lookup(app: Flask, lookup: Callable[[int, int], Any]) -> None:
    lookups = portal_state(app).plan_item_lookups
    if lookup not in lookups:
        lookups.append(lookup)


def _own_plan_item(patient_id: int, library_item_id: int) -> Any:
    for lookup in portal_state().plan_item_lookups:
        found = lookup(patient_id, library_item_id)
        if found is not None:
            return found
    return None


def _readable_item(item_id: int) -> tuple[LibraryItem, Any]:
    """The item and the patient's own plan item for it; 404 when this user may not read it."""
    item = _item_or_404(item_id)
    plan_item = _own_plan_item(current_user.id, item.id) if current_user.is_patient else None
    # A retired item stays readable by coaches and by patients whose plan still has it.
    if not item.is_active and not current_user.is_staff and plan_item is None:
        abort(404)
    return item, plan_item


@bp.route("/<int:item_id>")
@login_required
def detail(item_id: int):
    item, plan_item = _readable_item(item_id)
    return render_template(
        "exercises/detail.html",
        item=item,
        plan_item=plan_item,
        action_form=ActionForm(),
        # Coaches see which languages the item is written in.
        translated=translated_languages(item) if current_user.is_staff else set(),
        can_manage=can_manage(current_user, item),
        can_duplicate=can_duplicate(current_user, item),
    )


def _item_to_change(item_id: int) -> LibraryItem:
    """The item, if this user may change it: 404 when it does not exist, 403 when it is read-only to them."""
    item = _item_or_404(item_id)
    require_manage(current_user, item)
    return item


def _checked_upload(field) -> tuple[Prepared | None, int]:
    """The field's file checked by content, or its error message put beside the field."""
    upload = field.data
    if not isinstance(upload, FileStorage) or not upload.filename:
        return None, 200
    try:
        return prepare_upload(upload.stream), 200
    except MediaTooLarge as error:
        field.errors = [*field.errors, str(error)]
        return None, 413
    except BadInput as error:
        field.errors = [*field.errors, str(error)]
        return None, 400


@bp.route("/new", methods=["GET", "POST"])
@large_upload(UPLOAD_REQUEST_LIMIT)
@coach_required
def create():
    form = NewLibraryItemForm()
    if request.method == "GET":
        form.default_times_per_day.data = 1
        form.default_days_per_week.data = 7
    status = 400 if request.method == "POST" else 200
    if form.validate_on_submit():
        # The file is checked before anything is written: a refused file stores no item either.
        prepared, status = _checked_upload(form.media)
        if status == 200:
            try:
                item = create_item(form.values(), current_user)
                db.session.flush()
            except IntegrityError:
                # Another coach took the same slug a moment ago: pick the next free one.
                db.session.rollback()
                item = create_item(form.values(), current_user)
            if prepared is not None:
                attach_media(item, prepared, current_user)
            db.session.commit()
            flash(_("“%(title)s” is in the library.", title=item.title), "success")
            if form.upload.data:
                return redirect(url_for("exercises.edit", item_id=item.id, _anchor="media-section"))
            return redirect(url_for("exercises.detail", item_id=item.id))
    return render_template("exercises/form.html", form=form, item=None), status


def _translation_form(item: LibraryItem, locale: str, *, formdata: bool) -> TranslationForm:
    if formdata:
        return TranslationForm(prefix=locale, english_cautions=item.cautions or "")
    row = translation_for(item, locale)
    form = TranslationForm(formdata=None, prefix=locale, obj=row, english_cautions=item.cautions or "")
    return form


def _edit_page(
    item: LibraryItem,
    form: LibraryItemForm,
    translation_form: TranslationForm,
    status: int,
    media_form: MediaForm | None = None,
):
    return (
        render_template(
            "exercises/form.html",
            form=form,
            item=item,
            translation_form=translation_form,
            media_form=media_form or MediaForm(formdata=None),
            action_form=ActionForm(),
        ),
        status,
    )


@bp.route("/<int:item_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(item_id: int):
    item = _item_to_change(item_id)
    form = LibraryItemForm(obj=item)
    if form.validate_on_submit():
        changed = update_item(item, form.values(), current_user)
        db.session.commit()
        flash(_("Item saved.") if changed else _("Nothing changed."), "success" if changed else "info")
        return redirect(url_for("exercises.detail", item_id=item.id))
    status = 400 if request.method == "POST" else 200
    return _edit_page(item, form, _translation_form(item, "es", formdata=False), status)


@bp.route("/<int:item_id>/translations/<locale>", methods=["POST"])
@staff_required
def save_item_translation(item_id: int, locale: str):
    """Save (or, with every field empty, remove) the item's version in another language."""
    item = _item_to_change(item_id)
    if locale not in TRANSLATED_LANGUAGES:
        abort(404)
    translation_form = _translation_form(item, locale, formdata=True)
    if not translation_form.validate_on_submit():
        return _edit_page(item, LibraryItemForm(formdata=None, obj=item), translation_form, 400)
    outcome = save_translation(item, locale, translation_form.values(), current_user)
    db.session.commit()
    messages = {
        "created": _("Spanish version saved."),
        "updated": _("Spanish version saved."),
        "removed": _("Spanish version removed: Spanish readers now see the English."),
        "unchanged": _("Nothing changed."),
    }
    flash(messages[outcome], "info" if outcome == "unchanged" else "success")
    return redirect(url_for("exercises.detail", item_id=item.id))


@bp.route("/<int:item_id>/retire", methods=["POST"])
@staff_required
def retire(item_id: int):
    item = _item_to_change(item_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    set_item_active(item, False, current_user)
    db.session.commit()
    flash(
        _(
            "“%(title)s” is retired: it can no longer be added to plans or programs. Plans that use it keep it.",
            title=item.title,
        ),
        "success",
    )
    return redirect(url_for("exercises.detail", item_id=item.id))


@bp.route("/<int:item_id>/restore", methods=["POST"])
@staff_required
def restore(item_id: int):
    item = _item_to_change(item_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    set_item_active(item, True, current_user)
    db.session.commit()
    flash(_("“%(title)s” is back in the library.", title=item.title), "success")
    return redirect(url_for("exercises.detail", item_id=item.id))


@bp.route("/<int:item_id>/duplicate", methods=["POST"])
@coach_required
def duplicate(item_id: int):
    """A coach's own copy of a starter item or a colleague's item, opened for editing."""
    item = _item_or_404(item_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        copy = duplicate_item(item, current_user)
        db.session.commit()
    except IntegrityError:
        # Another coach took the same slug a moment ago: pick the next free one.
        db.session.rollback()
        copy = duplicate_item(item, current_user)
        db.session.commit()
    flash(_("This is your own copy of “%(title)s”: adapt it as you like.", title=copy.title), "success")
    return redirect(url_for("exercises.edit", item_id=copy.id))


@bp.route("/<int:item_id>/media", methods=["POST"])
@large_upload(UPLOAD_REQUEST_LIMIT)
@staff_required
def upload_media(item_id: int):
    """Add or replace the item's own picture or video."""
    item = _item_to_change(item_id)
    media_form = MediaForm()
    status = 400
    if media_form.validate_on_submit():
        prepared, status = _checked_upload(media_form.media)
        if prepared is not None:
            replaced = item.media_digest is not None
            attach_media(item, prepared, current_user)
            db.session.commit()
            if prepared.kind == "video":
                flash(_("Video replaced.") if replaced else _("Video added."), "success")
            else:
                flash(_("Picture replaced.") if replaced else _("Picture added."), "success")
            return redirect(url_for("exercises.edit", item_id=item.id, _anchor="media-section"))
        status = status if status != 200 else 400
    form = LibraryItemForm(formdata=None, obj=item)
    return _edit_page(item, form, _translation_form(item, "es", formdata=False), status, media_form=media_form)


@bp.route("/<int:item_id>/media/remove", methods=["POST"])
@staff_required
def remove_item_media(item_id: int):
    item = _item_to_change(item_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if remove_media(item, current_user):
        db.session.commit()
        flash(_("The picture or video is removed: the item shows its drawing."), "success")
    else:
        flash(_("Nothing changed."), "info")
    return redirect(url_for("exercises.edit", item_id=item.id, _anchor="media-section"))


@bp.app_template_global("item_media_url")
def item_media_url(item: LibraryItem, digest: str) -> str:
    return url_for("exercises.media", item_id=item.id, digest=digest, ext=extension_for(item.media_type or ""))


def _media_headers(response, digest: str, content_type: str) -> None:
    response.headers["Content-Type"] = content_type
    response.headers["Accept-Ranges"] = "bytes"
    response.set_etag(digest)
    # The URL names the content's hash: it never changes, so the browser may keep it a year, privately.
    response.cache_control.private = True
    response.cache_control.max_age = PICTURE_MAX_AGE
    response.cache_control.immutable = True


@bp.route("/<int:item_id>/media/<digest>.<ext>")
@login_required
def media(item_id: int, digest: str, ext: str):
    """An item's own picture, thumbnail or video, to whoever may read the item; range-aware so
    phones can seek in a video, streamed from either storage backend."""
    item, _plan_item = _readable_item(item_id)
    if digest not in (item.media_digest, item.media_thumb_digest) or ext != extension_for(item.media_type or ""):
        abort(404)
    store = media_store()
    size = store.size(digest)
    if size is None:
        abort(404)
    content_type = item.media_type or "application/octet-stream"
    if request.if_none_match.contains(digest):
        response = current_app.response_class(status=304)
        _media_headers(response, digest, content_type)
        return response
    start, stop, status = 0, size, 200
    ranges = request.range
    # If-Range with another validator means "send it all": the content may differ (it never does here).
    if_range = request.if_range
    if_range_holds = (if_range.etag is None and if_range.date is None) or if_range.etag == digest
    if ranges is not None and len(ranges.ranges) == 1 and if_range_holds:
        bounds = ranges.range_for_length(size)
        if bounds is None:
            response = current_app.response_class(status=416)
            response.headers["Content-Range"] = f"bytes */{size}"
            response.headers["Accept-Ranges"] = "bytes"
            return response
        start, stop = bounds
        status = 206
    response = current_app.response_class(store.open_range(digest, start, stop), status=status, direct_passthrough=True)
    _media_headers(response, digest, content_type)
    response.content_length = stop - start
    if status == 206:
        response.headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    return response
