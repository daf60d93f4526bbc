"""Agent triggers: config checked per kind, schedule triggers kept in step with their beat
entry, one conversation per schedule slot and per event, answered on a worker."""

import json
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django_celery_beat.models import PeriodicTask

from agents import events as agent_events
from agents.models import Agent, AgentConfiguration, AgentTrigger, Conversation
from agents.services import triggers
from agents.tasks import triggers as trigger_tasks
from core import events
from tests.factories import SecretFactory
from tests.factories.agents import AgentConfigurationFactory

pytestmark = pytest.mark.django_db
Kind = AgentTrigger.Kind
WEEKLY = {"cron": "0 8 * * 1", "timezone": "Europe/Lisbon", "message": "Summarise the week."}
MONDAY_8 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # Lisbon is on UTC in March
FAILED = "workflows.execution.failed"


def ready_agent(**fields) -> Agent:
    """An active agent with a published version."""
    configuration = AgentConfigurationFactory(agent__status=Agent.Status.ACTIVE, **fields)
    AgentConfiguration.objects.filter(pk=configuration.pk).update(
        status=AgentConfiguration.Status.PUBLISHED, number=1)
    agent = configuration.agent
    agent.live_configuration = configuration
    agent.save()
    return agent


@pytest.fixture
def agent():
    return ready_agent()


@pytest.fixture(autouse=True)
def wired():
    """What AgentsConfig.ready() does (idempotent: harmless once the app does it too)."""
    agent_events.register()
    triggers.connect()


@pytest.fixture
def queued(monkeypatch):
    """The answers queued for workers: (conversation id, text)."""
    calls = []
    monkeypatch.setattr(trigger_tasks.answer, "delay", lambda *args: calls.append(args))
    return calls


# --- configuration -----------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "config", "names"), [
    (Kind.SCHEDULE, {"message": "hi"}, "cron:"),
    (Kind.SCHEDULE, {"cron": "61 * * * *", "message": "hi"}, "cron:"),
    (Kind.SCHEDULE, {"cron": "0 8 * * 1", "timezone": "Mars/Olympus", "message": "hi"},
     "timezone:"),
    (Kind.SCHEDULE, {"cron": "0 8 * * 1"}, "message: required"),
    (Kind.SCHEDULE, {"cron": "0 8 * * 1", "message": "hi", "input": {}}, "input: not a setting"),
    (Kind.EVENT, {"event": "reports.run.exploded", "message": "hi"}, "event: 'reports.run"),
    (Kind.EVENT, {"event": FAILED, "message": "{{ payload.x "}, "message:"),
    (Kind.EVENT, {"event": FAILED, "message": "{{ secrets.KEY }}"}, "unknown name 'secrets'"),
    (Kind.EVENT, {"event": FAILED, "message": "hi", "filter": {"a": [1]}}, "filter:"),
    (Kind.WEBHOOK, {"auth": "basic"}, "auth:"),
    (Kind.WEBHOOK, {"auth": "hmac"}, "secret: auth 'hmac' needs"),
    (Kind.WEBHOOK, {"message_field": ""}, "message_field:"),
    (Kind.WEBHOOK, {"max_body_bytes": 0}, "max_body_bytes:"),
    (Kind.WEBHOOK, {"secret": 1}, "secret: only used"),
])
def test_a_bad_config_is_refused_naming_the_setting(agent, kind, config, names):
    with pytest.raises(ValidationError) as caught:
        triggers.trigger_create(agent=agent, kind=kind, config=config)
    assert names in " ".join(caught.value.message_dict["config"])
    assert not AgentTrigger.objects.exists() and not PeriodicTask.objects.exists()


def test_a_webhook_secret_must_be_of_the_agents_workspace(agent):
    other = SecretFactory()
    with pytest.raises(ValidationError) as caught:
        triggers.trigger_create(agent=agent, kind=Kind.WEBHOOK,
                                config={"auth": "token", "secret": other.pk})
    assert "secret:" in " ".join(caught.value.message_dict["config"])
    own = SecretFactory(workspace=agent.workspace)
    hook = triggers.trigger_create(agent=agent, kind=Kind.WEBHOOK,
                                   config={"auth": "token", "secret": own.pk})
    assert hook.config["secret"] == own.pk


def test_defaults_are_filled_in(agent):
    schedule = triggers.trigger_create(agent=agent, kind=Kind.SCHEDULE,
                                       config={"cron": " 0  8 * * 1 ", "message": "Hi"})
    hook = triggers.trigger_create(agent=agent, kind=Kind.WEBHOOK)
    event = triggers.trigger_create(agent=agent, kind=Kind.EVENT,
                                    config={"event": FAILED, "message": "{{ payload }}"})
    assert schedule.config == {"cron": "0 8 * * 1", "timezone": "UTC", "message": "Hi"}
    assert hook.config == {"message_field": "message", "auth": "none", "max_body_bytes": 65536}
    assert event.config == {"event": FAILED, "message": "{{ payload }}", "filter": {}}


# --- schedule triggers and their beat entries ------------------------------------------------


def beat_entry(trigger) -> PeriodicTask | None:
    trigger.refresh_from_db()
    return trigger.periodic_task


def test_a_schedule_trigger_is_kept_in_step_with_its_beat_entry(agent):
    trigger = triggers.trigger_create(agent=agent, kind=Kind.SCHEDULE, config=WEEKLY)
    task = beat_entry(trigger)
    assert task.task == "agents.tasks.triggers.fire_schedule" and task.enabled
    assert task.kwargs == f'{{"trigger_id": {trigger.pk}}}'
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week,
            str(task.crontab.timezone)) == ("0", "8", "1", "Europe/Lisbon")

    triggers.trigger_update(trigger, config={**WEEKLY, "cron": "30 9 * * *"}, enabled=False)
    task = beat_entry(trigger)
    assert (task.crontab.minute, task.crontab.hour, task.enabled) == ("30", "9", False)
    assert PeriodicTask.objects.filter(task=triggers.FIRE_TASK).count() == 1

    triggers.trigger_update(trigger, kind=Kind.WEBHOOK, config={})
    assert beat_entry(trigger) is None
    assert not PeriodicTask.objects.filter(task=triggers.FIRE_TASK).exists()


def test_deleting_a_trigger_or_its_agent_removes_the_beat_entry(agent):
    first = triggers.trigger_create(agent=agent, kind=Kind.SCHEDULE, config=WEEKLY)
    triggers.trigger_create(agent=agent, kind=Kind.SCHEDULE, config=WEEKLY)
    triggers.trigger_delete(first)
    assert PeriodicTask.objects.filter(task=triggers.FIRE_TASK).count() == 1
    agent.delete()
    assert not PeriodicTask.objects.filter(task=triggers.FIRE_TASK).exists()


def test_a_tick_starts_one_conversation_per_slot(agent, queued,
                                                 django_capture_on_commit_callbacks):
    trigger = triggers.trigger_create(agent=agent, kind=Kind.SCHEDULE, config=WEEKLY)
    with django_capture_on_commit_callbacks(execute=True):
        result = trigger_tasks.fire_schedule(trigger.pk, tick_at="2026-03-02T08:00:04+00:00")
        again = trigger_tasks.fire_schedule(trigger.pk, tick_at="2026-03-02T08:00:09+00:00")
    conversation = Conversation.objects.get()
    assert result == again == {"trigger": trigger.pk, "conversation": conversation.pk,
                               "slot": MONDAY_8.isoformat()}
    assert conversation.channel == Conversation.Channel.SCHEDULE
    assert conversation.agent == agent and conversation.user is None
    assert conversation.metadata == {"trigger": trigger.pk, "slot": MONDAY_8.isoformat()}
    assert queued == [(conversation.pk, "Summarise the week.")]
    trigger.refresh_from_db()
    assert trigger.last_fired_at is not None

    with django_capture_on_commit_callbacks(execute=True):
        trigger_tasks.fire_schedule(trigger.pk, tick_at="2026-03-09T08:00:01+00:00")
    assert Conversation.objects.count() == 2 and len(queued) == 2


@pytest.mark.parametrize("change", ["paused", "unpublished", "disabled", "deleted"])
def test_a_tick_for_an_agent_that_is_not_ready_is_ignored(agent, queued, change):
    trigger = triggers.trigger_create(agent=agent, kind=Kind.SCHEDULE, config=WEEKLY)
    if change == "paused":
        Agent.objects.filter(pk=agent.pk).update(status=Agent.Status.PAUSED)
    elif change == "unpublished":
        Agent.objects.filter(pk=agent.pk).update(live_configuration=None)
    elif change == "disabled":
        AgentTrigger.objects.filter(pk=trigger.pk).update(enabled=False)
    else:
        AgentTrigger.objects.filter(pk=trigger.pk).delete()
    result = trigger_tasks.fire_schedule(trigger.pk, tick_at=MONDAY_8.isoformat())
    assert result == {"trigger": trigger.pk, "status": "ignored"}
    assert not Conversation.objects.exists() and queued == []


# --- event triggers -------------------------------------------------------------------------


#: Payloads as their apps send them (the test settings check them against the schemas).
REPLY = {"message": 1, "tokens_in": 10, "tokens_out": 5, "cost": "0.001"}


def _failed(workflow: int, error: str = "timeout") -> dict:
    return {"execution": workflow * 10, "workflow": workflow, "version": 1,
            "trace_id": "0" * 32, "status": "failed", "error": error, "failed_node": ""}


def test_an_event_starts_a_conversation_with_the_rendered_message(
        agent, queued, django_capture_on_commit_callbacks):
    trigger = triggers.trigger_create(
        agent=agent, kind=Kind.EVENT,
        config={"event": FAILED, "filter": {"workflow": 7},
                "message": "Workflow {{ payload.workflow }} failed: {{ payload.error }}"})
    other_workspace = ready_agent()
    triggers.trigger_create(agent=other_workspace, kind=Kind.EVENT,
                            config={"event": FAILED, "message": "never"})
    with django_capture_on_commit_callbacks(execute=True):
        event = events.emit(FAILED, _failed(7, "timeout"), workspace_id=agent.workspace_id)
        events.emit(FAILED, _failed(8, "no match"), workspace_id=agent.workspace_id)
    conversation = Conversation.objects.get()
    assert conversation.agent == agent and conversation.channel == Conversation.Channel.EVENT
    assert conversation.metadata == {"trigger": trigger.pk, "event": event.id}
    assert queued == [(conversation.pk, "Workflow 7 failed: timeout")]

    # The same event delivered again (a handler re-run) starts nothing new.
    with django_capture_on_commit_callbacks(execute=True):
        assert triggers.on_event(event) == []
    assert Conversation.objects.count() == 1 and len(queued) == 1


def test_a_payload_alone_is_sent_as_json(agent, queued, django_capture_on_commit_callbacks):
    triggers.trigger_create(agent=agent, kind=Kind.EVENT,
                            config={"event": FAILED, "message": "{{ payload }}"})
    with django_capture_on_commit_callbacks(execute=True):
        events.emit(FAILED, _failed(7, "olá"), workspace_id=agent.workspace_id)
    assert json.loads(queued[0][1]) == _failed(7, "olá") and '"olá"' in queued[0][1]


def test_an_agents_reply_does_not_restart_it_nor_chain_event_conversations(
        agent, queued, django_capture_on_commit_callbacks):
    other = ready_agent(workspace=agent.workspace, agent__workspace=agent.workspace)
    for who in (agent, other):
        triggers.trigger_create(agent=who, kind=Kind.EVENT,
                                config={"event": agent_events.CONVERSATION_REPLIED,
                                        "message": "Review: {{ payload.conversation }}"})
    with django_capture_on_commit_callbacks(execute=True):
        events.emit(agent_events.CONVERSATION_REPLIED,
                    {**REPLY, "agent": agent.pk, "conversation": 1, "channel": "api"},
                    workspace_id=agent.workspace_id)
        events.emit(agent_events.CONVERSATION_REPLIED,
                    {**REPLY, "agent": other.pk, "conversation": 2, "channel": "event"},
                    workspace_id=agent.workspace_id)
    # Only the other agent reviews the first agent's API conversation.
    assert [c.agent_id for c in Conversation.objects.all()] == [other.pk]
    assert queued[0][1] == "Review: 1"


def test_an_event_trigger_of_an_agent_that_is_not_ready_does_not_fire(
        agent, queued, django_capture_on_commit_callbacks):
    triggers.trigger_create(agent=agent, kind=Kind.EVENT,
                            config={"event": FAILED, "message": "x"})
    with django_capture_on_commit_callbacks(execute=True):
        events.emit(FAILED, _failed(1), workspace_id=agent.workspace_id)
    assert Conversation.objects.count() == 1
    Agent.objects.filter(pk=agent.pk).update(status=Agent.Status.PAUSED)
    with django_capture_on_commit_callbacks(execute=True):
        events.emit(FAILED, _failed(2), workspace_id=agent.workspace_id)
    assert Conversation.objects.count() == 1 and len(queued) == 1
