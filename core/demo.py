"""Demo live settings and feature flags for ``manage.py seed_demo`` (idempotent)."""

from . import live_settings
from .models import FeatureFlag

DEMO_FLAGS = [
    ("new-workflow-editor", "The redesigned workflow editor.", True, 30),
    ("agent-voice", "Voice channels for agents (beta testers by override).", False, 100),
    ("bi-dashboards-v2", "The second generation of BI dashboards.", True, 100),
]


def seed(out) -> None:
    live_settings.setting_rows_ensure()
    if live_settings.get("maintenance_message") == \
            live_settings.declaration("maintenance_message").default_value:
        live_settings.setting_set(key="maintenance_message",
                                  value="Synapscale is being upgraded; back within the hour.")
    live_settings.setting_set(key="default_time_zone", value="America/Sao_Paulo")
    for key, description, enabled, percent in DEMO_FLAGS:
        FeatureFlag.objects.get_or_create(key=key, defaults={
            "description": description, "enabled": enabled, "rollout_percent": percent})
    out.write(f"Demo settings: {len(live_settings.declared())} declared; "
              f"{len(DEMO_FLAGS)} feature flags.")
