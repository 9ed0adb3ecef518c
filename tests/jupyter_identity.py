"""A Jupyter identity provider for tests: every token-authenticated request is the user named
by ``LAKEBOOK_TEST_JUPYTER_USER`` (as JupyterHub would name its users)."""
from __future__ import annotations

import os

from jupyter_server.auth.identity import IdentityProvider, User


class NamedUser(IdentityProvider):
    def generate_anonymous_user(self, handler) -> User:  # type: ignore[override]
        name = os.environ["LAKEBOOK_TEST_JUPYTER_USER"]
        return User(username=name, name=name, display_name=name.capitalize(),
                    initials=name[:1].upper(), avatar_url=None, color=None)
