"""Conversations and feedback as people manage them (the chat loop writes messages).

* A conversation is opened by someone who may use its agent (``queries.can_use``); its
  title, status and metadata are changed, and it is deleted, by its own user or by a
  role that may change conversations in the workspace.
* Feedback rates an answer: one per person and message (a second is refused naming the
  message), by someone who may use the agent; changed or deleted by its author or an
  admin of the workspace.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from core import tenancy
from core.api.errors import ApiError

from .. import queries
from ..models import AgentAccess, Conversation, Message, MessageFeedback

#: What a person may change on a conversation (the rest is kept by the chat loop).
CONVERSATION_FIELDS = ("title", "status", "metadata", "external_id")
FEEDBACK_FIELDS = ("rating", "score", "comment")


def _user(principal):
    user = getattr(principal, "user", None)
    return user if getattr(user, "pk", None) else None


def _require_use(principal, agent) -> None:
    if principal is not None and not queries.can_use(principal, agent):
        raise ApiError(403, "agent_access_denied",
                       f"You may not use the agent {agent}: it needs a role that may "
                       "change agents, or a use grant.")


def _admin_of(principal, workspace_id: int) -> bool:
    # Agent access grants are admin-level rows: their write role is the admin test.
    ids = tenancy.workspace_ids(principal, AgentAccess, "add")
    return ids is None or workspace_id in list(ids)


def _require_own(principal, obj, owner_id, action: str, what: str) -> None:
    if principal is None:
        return
    user = _user(principal)
    if user is not None and owner_id == user.pk and tenancy.can(principal, obj, "view"):
        return
    if isinstance(obj, MessageFeedback):
        allowed = _admin_of(principal, obj.workspace_id)
    else:
        allowed = tenancy.can(principal, obj, action)
    if not allowed:
        raise ApiError(403, "permission_denied", f"You may not {what}.")


def _save(obj) -> None:
    obj.full_clean()
    obj.save()


# --- conversations --------------------------------------------------------------------------


@transaction.atomic
def conversation_create(*, agent, principal=None, channel: str = Conversation.Channel.API,
                        **fields) -> Conversation:
    fields.pop("workspace", None)  # the agent's
    _require_use(principal, agent)
    conversation = Conversation(workspace_id=agent.workspace_id, agent=agent,
                                user=_user(principal), channel=channel,
                                **{k: v for k, v in fields.items() if k in CONVERSATION_FIELDS})
    _save(conversation)
    return conversation


@transaction.atomic
def conversation_update(conversation: Conversation, *, principal=None,
                        **fields) -> Conversation:
    _require_own(principal, conversation, conversation.user_id, "change",
                 "change another person's conversation")
    if "agent" in fields and fields["agent"].pk != conversation.agent_id:
        if conversation.messages.exists():
            raise ValidationError({"agent": ["A conversation with messages stays with its "
                                             "agent."]})
        _require_use(principal, fields["agent"])
        conversation.agent = fields["agent"]
    for name in CONVERSATION_FIELDS:
        if name in fields:
            setattr(conversation, name, fields[name])
    _save(conversation)
    return conversation


@transaction.atomic
def conversation_delete(conversation: Conversation, *, principal=None) -> None:
    _require_own(principal, conversation, conversation.user_id, "delete",
                 "delete another person's conversation")
    conversation.delete()


# --- feedback -----------------------------------------------------------------------------


def _check_message(message: Message) -> None:
    if message.role != Message.Role.ASSISTANT:
        raise ValidationError({"message": ["Rate an answer: pick an assistant message."]})


@transaction.atomic
def feedback_create(*, message: Message, principal=None, **fields) -> MessageFeedback:
    fields.pop("workspace", None)  # the message's
    _require_use(principal, message.conversation.agent)
    _check_message(message)
    by = _user(principal)
    if by is not None and MessageFeedback.objects.filter(message=message, by=by).exists():
        raise ValidationError({"message": ["You have already rated this message: change "
                                           "that feedback instead."]})
    feedback = MessageFeedback(workspace_id=message.workspace_id, message=message, by=by,
                               **{k: v for k, v in fields.items() if k in FEEDBACK_FIELDS})
    feedback.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            feedback.save()
    except IntegrityError as exc:  # the same person rating twice at once
        raise ValidationError({"message": ["You have already rated this message."]}) from exc
    return feedback


@transaction.atomic
def feedback_update(feedback: MessageFeedback, *, principal=None, **fields) -> MessageFeedback:
    _require_own(principal, feedback, feedback.by_id, "change",
                 "change another person's feedback")
    message = fields.get("message")
    if message is not None and message.pk != feedback.message_id:
        _require_use(principal, message.conversation.agent)
        _check_message(message)
        if feedback.by_id and MessageFeedback.objects.filter(
                message=message, by_id=feedback.by_id).exclude(pk=feedback.pk).exists():
            raise ValidationError({"message": ["This person has already rated that message."]})
        feedback.message = message
    for name in FEEDBACK_FIELDS:
        if name in fields:
            setattr(feedback, name, fields[name])
    feedback.full_clean(validate_constraints=False)
    feedback.save()
    return feedback


@transaction.atomic
def feedback_delete(feedback: MessageFeedback, *, principal=None) -> None:
    _require_own(principal, feedback, feedback.by_id, "delete",
                 "delete another person's feedback")
    feedback.delete()
