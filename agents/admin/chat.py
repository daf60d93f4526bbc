"""The admin's test chat: talk to an agent as its users would (channel "admin"),
against its live version or a draft, through the same chat.run_turn as the API."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from rest_framework.exceptions import APIException

from core import tenancy

from .. import queries
from ..models import AgentConfiguration, Conversation, Message
from ..services.chat import run_turn


class ChatForm(forms.Form):
    message = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
                              max_length=32_000)
    configuration = forms.ModelChoiceField(
        queryset=AgentConfiguration.objects.none(), required=False,
        empty_label="The live version",
        help_text="Try a draft before publishing it (the conversation notes the version).")
    conversation = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, agent, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["configuration"].queryset = agent.configurations.order_by("-number", "-id")


def chat_page(model_admin, request, object_id):
    """GET: the transcript and a message box; POST: one turn, then the page again."""
    agent = model_admin.get_object_or_404(request, object_id)
    principal = tenancy.principal_for(request)
    if not queries.can_use(principal, agent):
        raise PermissionDenied
    form = ChatForm(request.POST or None, agent=agent,
                    initial={"conversation": request.GET.get("conversation")})
    conversation = None
    if request.method == "POST" and form.is_valid():
        conversation = _conversation(agent, form.cleaned_data.get("conversation"))
        try:
            result = run_turn(agent=agent, text=form.cleaned_data["message"],
                              principal=principal, conversation=conversation, channel="admin",
                              configuration=form.cleaned_data.get("configuration"))
            conversation = result.conversation
        except APIException as error:
            model_admin.message_user(request, getattr(error, "message", str(error)),
                                     messages.ERROR)
            conversation_id = (getattr(error, "errors", None) or {}).get("conversation")
            conversation = conversation or _conversation(agent, conversation_id)
        form = ChatForm(agent=agent, initial={
            "conversation": getattr(conversation, "pk", None),
            "configuration": form.cleaned_data.get("configuration")})
    elif request.method == "GET":
        conversation = _conversation(agent, request.GET.get("conversation"))
    transcript = (Message.objects.filter(conversation=conversation).order_by("sequence")
                  if conversation is not None else Message.objects.none())
    context = {**model_admin.admin_site.each_context(request), "opts": model_admin.opts,
               "title": f"Test chat with {agent}", "original": agent, "form": form,
               "conversation": conversation, "transcript": transcript,
               "live": agent.live_configuration}
    return TemplateResponse(request, "admin/agents/agent/chat.html", context)


def _conversation(agent, conversation_id):
    try:
        conversation_id = int(conversation_id)
    except (TypeError, ValueError):
        return None
    return Conversation.objects.filter(pk=conversation_id, agent=agent,
                                       channel=Conversation.Channel.ADMIN).first()
