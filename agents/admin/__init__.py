"""Back office of agents: providers and prices, agents with versions and parts,
conversations.  Thin over ``agents.services``, as the API is: refusals become admin
messages, never a server error."""

from . import agents, conversations, knowledge, providers, usage  # noqa: F401  (registrations)
