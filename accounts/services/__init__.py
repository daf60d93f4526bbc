"""Account writes with rules: sign-in and lockout, two-factor, tokens, email flows."""
