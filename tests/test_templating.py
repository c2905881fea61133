"""The Jinja environment: templates share the environment's globals, never one another's."""

from __future__ import annotations


def test_templates_read_the_environments_globals_themselves(app):
    env = app.jinja_env
    assert env.get_template("_macros.html").globals is env.globals
    # A global registered after a template was loaded is seen by it, as with Jinja's own ChainMap.
    env.globals["registered_late"] = "seen"
    try:
        assert env.get_template("_macros.html").globals["registered_late"] == "seen"
        assert env.from_string("{{ registered_late }}").render() == "seen"
    finally:
        del env.globals["registered_late"]


def test_globals_given_to_one_template_stay_with_it(app):
    env = app.jinja_env
    template = env.from_string("{{ only_here }} {{ _('Your account') }}", globals={"only_here": "mine"})
    with app.test_request_context("/"):
        assert template.render() == "mine Your account"
    assert "only_here" not in env.globals
    assert env.from_string("{{ only_here is defined }}").render() == "False"


def test_the_field_imported_from_the_macros_is_the_python_renderer(app):
    from portal.formrender import field_block

    assert app.jinja_env.get_template("_macros.html").module.field is field_block
