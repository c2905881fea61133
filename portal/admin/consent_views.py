"""Admin: each clinic's coaching agreement and privacy notice, in every portal language, and publishing a new version.

Publishing makes every patient of the clinic agree again before they use the portal
(portal.care.consent); the texts already agreed to stay as they were, with their version.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from portal.admin.blueprint import bp
from portal.auth.models import Clinic
from portal.care.consent import KIND_TITLES, KINDS, MAX_TEXT_LENGTH, clinic_versions, publish_version, texts_of
from portal.extensions import db
from portal.forms import PortalForm, no_control_chars, strip_filter
from portal.i18n import LANGUAGES


class ConsentTextsForm(PortalForm):
    """One text area per document and language, named ``<kind>_<locale>`` (built below)."""

    def bodies(self) -> dict[tuple[str, str], str]:
        return {(kind, locale): getattr(self, f"{kind}_{locale}").data for kind in KINDS for locale in LANGUAGES}


for _kind in KINDS:
    for _locale, _language in LANGUAGES.items():
        setattr(
            ConsentTextsForm,
            f"{_kind}_{_locale}",
            TextAreaField(
                _l("%(document)s (%(language)s)", document=KIND_TITLES[_kind], language=_language),
                validators=[
                    DataRequired(message=_l("Write this text: patients read it before they start.")),
                    Length(max=MAX_TEXT_LENGTH),
                    no_control_chars,
                ],
                filters=[strip_filter],
                render_kw={"rows": 10, "maxlength": MAX_TEXT_LENGTH},
            ),
        )


@bp.route("/consent-texts")
def consent_texts():
    clinics = db.session.scalars(db.select(Clinic).order_by(Clinic.name)).all()
    return render_template("admin/consent_texts.html", clinics=clinics, versions=clinic_versions())


@bp.route("/consent-texts/<int:clinic_id>", methods=["GET", "POST"])
def edit_consent_texts(clinic_id: int):
    clinic = db.session.get(Clinic, clinic_id)
    if clinic is None:
        abort(404)
    version = clinic_versions().get(clinic.id, (None, None))[0]
    form = ConsentTextsForm()
    if request.method == "GET" and version is not None:
        for (kind, locale), text in texts_of(clinic.id, version).items():
            field = getattr(form, f"{kind}_{locale}", None)
            if field is not None:
                field.data = text.body
    if form.validate_on_submit():
        new_version = publish_version(clinic, form.bodies(), current_user._get_current_object())
        db.session.commit()
        flash(
            _(
                "Version %(version)s is published. Every patient of %(clinic)s is asked to agree to it at their next sign-in.",
                version=new_version,
                clinic=clinic.name,
            ),
            "success",
        )
        return redirect(url_for("admin.consent_texts"))
    status = 200
    if request.method == "POST":
        status = 400 if form.csrf_token.errors else 422
    fields = [(kind, [getattr(form, f"{kind}_{locale}") for locale in LANGUAGES]) for kind in KINDS]
    return (
        render_template(
            "admin/consent_text_form.html",
            form=form,
            clinic=clinic,
            version=version,
            fields=fields,
            kind_titles={kind: str(title) for kind, title in KIND_TITLES.items()},
        ),
        status,
    )
