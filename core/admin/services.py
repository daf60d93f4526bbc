"""Admin pages that save through a service.

Django's admin saves the object its form built (``save_model``) and then logs and
redirects with that same object. When a service creates the row instead,
``adopt`` makes the form's object that row, so the admin carries on as usual.
"""


def adopt(obj, saved) -> None:
    """Copy the saved row's column values and state onto the admin's unsaved ``obj``."""
    for field in saved._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding, obj._state.db = False, saved._state.db
