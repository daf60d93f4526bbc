"""Report services: every write with a rule goes through these (API, admin, tasks).

``definitions`` saves definitions and keeps their beat schedule in step, ``runs``
creates and builds runs exactly once per slot, ``deliveries`` sends each run to
each recipient at most once, ``emails`` builds the message.
"""
