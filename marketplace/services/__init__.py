"""Marketplace services: every write with a rule, for the API, admin and commands alike.

* ``catalogue``: publish and yank versions (semver order, payload checks).
* ``ratings``: a user's rating; the component's average under its row lock.
* ``purchases``: buy a paid component with credits or on the next invoice, once.
* ``installs``: install a version as a draft workflow, upgrade an installation.
"""
