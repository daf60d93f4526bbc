"""Services of agents: every write with a rule (API, admin, triggers, workflow nodes)."""
