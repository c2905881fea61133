"""Form controls rendered straight to HTML, with WTForms' own markup.

WTForms' widgets build each attribute through ``Markup.format`` and list a field's
flags with ``dir()``; on a page of forms that was a large share of the page's cost.
These renderers write the same attributes, escaped the same way, for the widgets the
portal uses; any other widget (radio lists, grouped selects, custom ones) is
rendered by WTForms itself. WTForms still parses and validates every form.
"""

from __future__ import annotations

from functools import lru_cache

from flask_babel import gettext
from markupsafe import Markup, escape
from wtforms import widgets


def html_attrs(attrs: dict) -> str:
    """``html_params`` with the same output: sorted names, ``True`` bare, ``False`` left out."""
    parts = []
    for key, value in sorted(attrs.items()):
        name = _attribute_name(key)
        if value is True:
            parts.append(name)
        elif value is not False:
            parts.append(f'{name}="{escape(value)}"')
    return " ".join(parts)


# The few dozen attribute names the templates use, each as WTForms writes it ("class_" -> "class",
# "data_x" -> "data-x"), kept per process: a page of forms writes a few hundred attributes.
@lru_cache(maxsize=512)
def _attribute_name(key: str) -> str:
    name = key.rstrip("_")
    if name.startswith(("data_", "aria_")):
        name = name.replace("_", "-")
    return str(escape(name))


def _validation_attrs(widget, field, attrs: dict) -> None:
    """The attributes a field's validators ask for (required, maxlength...), unless given."""
    flags = getattr(field, "flags", None)
    set_flags = vars(flags) if flags is not None else {}
    for name in widget.validation_attrs:
        if name in set_flags and name not in attrs:
            value = set_flags[name]
            attrs[name] = value() if callable(value) else value


def _input(widget, field, attrs: dict) -> Markup:
    attrs.setdefault("id", field.id)
    attrs.setdefault("type", widget.input_type)
    if "value" not in attrs:
        attrs["value"] = field._value()
    _validation_attrs(widget, field, attrs)
    attrs["name"] = field.name
    return Markup(f"<input {html_attrs(attrs)}>")  # noqa: S704 - every value escaped in html_attrs  # nosec B704


def _password(widget, field, attrs: dict) -> Markup:
    if widget.hide_value:
        attrs["value"] = ""
    return _input(widget, field, attrs)


def _checkbox(widget, field, attrs: dict) -> Markup:
    if getattr(field, "checked", field.data):
        attrs.setdefault("checked", True)
    return _input(widget, field, attrs)


def _submit(widget, field, attrs: dict) -> Markup:
    attrs.setdefault("value", field.label.text)
    return _input(widget, field, attrs)


def _file(widget, field, attrs: dict) -> Markup:
    attrs["value"] = False  # browsers ignore a file input's value
    if widget.multiple:
        attrs["multiple"] = True
    return _input(widget, field, attrs)


def _date_time(widget, field, attrs: dict) -> Markup:
    # As WTForms' date and time inputs: a min or max given as a date or time is written in the field's format.
    fmt = getattr(field, "format", None)
    if fmt is not None:
        fmt = fmt[0] if isinstance(fmt, list) else fmt
        flags = getattr(field, "flags", None)
        for name in ("min", "max"):
            value = attrs.get(name, getattr(flags, name, None))
            if callable(value):
                value = value()
            if hasattr(value, "strftime"):
                attrs[name] = value.strftime(fmt)
    return _input(widget, field, attrs)


def _textarea(widget, field, attrs: dict) -> Markup:
    attrs.setdefault("id", field.id)
    _validation_attrs(widget, field, attrs)
    attrs["name"] = field.name
    # The leading line break is WTForms' too: browsers drop the first one, keeping a value's own.
    return Markup(f"<textarea {html_attrs(attrs)}>\r\n{escape(field._value())}</textarea>")  # noqa: S704 - escaped  # nosec B704


def _select(widget, field, attrs: dict) -> Markup | None:
    if field.has_groups():
        return None
    attrs.setdefault("id", field.id)
    if widget.multiple:
        attrs["multiple"] = True
    _validation_attrs(widget, field, attrs)
    attrs["name"] = field.name
    html = [f"<select {html_attrs(attrs)}>"]
    for choice in field._iter_choices_normalized():
        value = str(choice.value) if isinstance(choice.value, bool) else choice.value
        option = {"value": value, **(choice.render_kw or {})}
        if choice.selected:
            option["selected"] = True
        html.append(f"<option {html_attrs(option)}>{escape(choice.label or choice.value)}</option>")
    html.append("</select>")
    return Markup("".join(html))  # noqa: S704 - attributes and labels escaped above  # nosec B704


# Exact types only: a subclass may render differently, so it keeps its own widget.
_RENDERERS = {
    widgets.TextInput: _input,
    widgets.EmailInput: _input,
    widgets.URLInput: _input,
    widgets.TelInput: _input,
    widgets.SearchInput: _input,
    widgets.HiddenInput: _input,
    widgets.DateInput: _date_time,
    widgets.TimeInput: _date_time,
    widgets.PasswordInput: _password,
    widgets.CheckboxInput: _checkbox,
    widgets.SubmitInput: _submit,
    widgets.FileInput: _file,
    widgets.TextArea: _textarea,
    widgets.Select: _select,
}


def render_field(field, render_kw: dict) -> Markup:
    """What ``field(**render_kw)`` renders (the field's own ``render_kw`` merged under the call's)."""
    own = getattr(field, "render_kw", None)
    attrs = dict(own, **render_kw) if own else dict(render_kw)
    widget = field.widget
    renderer = _RENDERERS.get(type(widget))
    html = renderer(widget, field, attrs) if renderer is not None else None
    return html if html is not None else widget(field, **attrs)


_SELECTS = ("SelectField", "SelectMultipleField")


def field_block(field, help=None, class_="", input_class="", autocomplete=None, input_attrs=None) -> Markup:  # noqa: A002
    """A field with its label, help text and errors, as the templates' ``field`` macro writes it.

    Every form page shows a dozen of these: written here, one costs a tenth of the Python calls the
    same markup costs as a Jinja macro (which builds the attributes through a dozen filters and sets).
    """
    field_id = escape(field.id)
    errors = field.errors
    describedby = []
    if help:
        describedby.append(f"{field.id}-help")
    if errors:
        describedby.append(f"{field.id}-error")
    help_html = f'<div id="{field_id}-help" class="form-text">{escape(help)}</div>' if help else ""
    error_html = (
        f'<div id="{field_id}-error" class="invalid-feedback d-block">{escape(" ").join(errors)}</div>'
        if errors
        else ""
    )
    if field.type == "BooleanField":
        attrs = {"class_": "form-check-input" + (" is-invalid" if errors else "")}
        if describedby:
            attrs["aria-describedby"] = " ".join(describedby)
        body = (
            f"    {field(**attrs)}\n"
            f'    <label class="form-check-label" for="{field_id}">{escape(field.label.text)}</label>\n'
        )
        return _block("form-check mb-3", class_, body + help_html + error_html)
    css = ("form-select" if field.type in _SELECTS else "form-control") + (" is-invalid" if errors else "")
    attrs = {"class_": f"{css} {input_class}"}
    # A select always has a value chosen (server-side validation names a missing one), and HTML
    # forbids "required" on a select unless its first option is an empty placeholder.
    if field.type == "SelectField":
        attrs["required"] = False
    if describedby:
        attrs["aria-describedby"] = " ".join(describedby)
    if errors:
        attrs["aria-invalid"] = "true"
    if autocomplete:
        attrs["autocomplete"] = autocomplete
    if input_attrs:
        attrs.update(input_attrs)
    required = (
        f' <span class="text-body-secondary small">{escape(gettext("(required)"))}</span>'
        if field.flags.required
        else ""
    )
    body = (
        f'    <label class="form-label" for="{field_id}">{escape(field.label.text)}</label>{required}'
        f"    {field(**attrs)}\n"
    )
    return _block("mb-3", class_, body + help_html + error_html)


def _block(css: str, class_: str, inner: str) -> Markup:
    """A field's wrapping div; ``inner`` is markup whose values were escaped by the caller."""
    html = f'  <div class="{css} {escape(class_)}">\n{inner}  </div>\n'
    return Markup(html)  # noqa: S704 - class escaped here, the rest by field_block and the input's renderer  # nosec B704
