"""The demo agent seed_demo makes: once however often it runs, published with its model,
price and knowledge base; with LLM_FAKE on, pointed at the local fake server and
labelled as a fake."""

import io

import pytest
from django.core.management import call_command

from agents import demo
from agents.models import (
    Agent,
    AgentConfiguration,
    Document,
    KnowledgeBase,
    LLMModel,
    LLMProvider,
    ModelPrice,
)
from workspaces.services.vault import decrypt

pytestmark = pytest.mark.django_db


def seed(settings, tmp_path, *, fake: bool, times: int = 1) -> list[str]:
    settings.DEBUG = True
    settings.MEDIA_ROOT = tmp_path
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.LLM_FAKE = fake
    settings.LLM_FAKE_PORT = 18765
    outputs = []
    for _ in range(times):
        out = io.StringIO()
        call_command("seed_demo", stdout=out)
        outputs.append(out.getvalue())
    return outputs


def test_seeding_twice_makes_one_published_agent_with_its_knowledge(settings, tmp_path):
    first, second = seed(settings, tmp_path, fake=True, times=2)
    assert first.count(f'Demo agent "{demo.AGENT}"') == 1
    assert "Demo agent" not in second
    agent = Agent.objects.get()
    assert agent.name == demo.AGENT and agent.status == Agent.Status.ACTIVE
    version = agent.live_configuration
    assert version.status == AgentConfiguration.Status.PUBLISHED and version.number == 1
    assert version.system_prompt == demo.SYSTEM_PROMPT
    assert [link.knowledge_base.name for link in version.knowledge.all()] == [demo.KNOWLEDGE_BASE]
    assert sorted(Document.objects.values_list("title", flat=True)) == \
        sorted(title for title, _ in demo.DOCUMENTS)
    assert KnowledgeBase.objects.count() == 1
    model = version.model
    assert model.kind == LLMModel.Kind.CHAT and ModelPrice.objects.filter(model=model).count() == 1


def test_with_llm_fake_the_provider_is_the_labelled_local_server(settings, tmp_path):
    [output] = seed(settings, tmp_path, fake=True)
    provider = LLMProvider.objects.get()
    assert provider.name == "Fake LLM (offline demo)"
    assert provider.base_url == "http://127.0.0.1:18765/v1"
    assert provider.api_key_secret is None
    assert "the fake server at http://127.0.0.1:18765/v1" in output


def test_without_it_the_provider_is_openai_with_its_key_in_the_vault(settings, tmp_path):
    [output] = seed(settings, tmp_path, fake=False)
    provider = LLMProvider.objects.get()
    assert (provider.name, provider.base_url) == ("OpenAI", "")
    assert provider.api_key_secret.name == demo.KEY_SECRET
    assert decrypt(provider.api_key_secret.ciphertext).startswith("replace-me")
    assert f"set the vault secret {demo.KEY_SECRET}" in output


def test_with_llm_fake_the_demo_agent_answers_from_its_knowledge(
        settings, tmp_path, llm_server, django_capture_on_commit_callbacks):
    from agents.services.chat import run_turn

    with django_capture_on_commit_callbacks(execute=True):  # documents indexed on commit
        seed(settings, tmp_path, fake=True)
    LLMProvider.objects.update(base_url=llm_server.url("/v1"))  # the test's server port
    agent = Agent.objects.get()
    assert set(Document.objects.values_list("status", flat=True)) == {Document.Status.READY}

    turn = run_turn(agent=agent, text="How many days do I have to return an item?",
                    principal=None)
    assert turn.reply.content == "Fake LLM reply: How many days do I have to return an item?"
    system = llm_server.requests[-1]["json"]["messages"][0]["content"]
    assert system.startswith(demo.SYSTEM_PROMPT) and "within 30 days of delivery" in system
    assert turn.reply.cost > 0  # priced: the demo model has its list price
