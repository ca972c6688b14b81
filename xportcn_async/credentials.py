"""Account credentials. The secret is never shown in a repr, a log line or an error."""

from __future__ import annotations

import os
from collections.abc import Mapping

import attrs

from .errors import ConfigurationError

ENV_ACCESS_KEY = "XPORTCN_ACCESS_KEY"
ENV_ACCESS_SECRET = "XPORTCN_ACCESS_SECRET"
ENV_USER_ID = "XPORTCN_USER_ID"


@attrs.define(frozen=True)
class Credentials:
    """An access key, its secret, and optionally the sub-account (user id) to act as."""

    access_key: str
    access_secret: str = attrs.field(repr=lambda _: "'***'")
    user_id: str | None = None

    def __attrs_post_init__(self) -> None:
        if not self.access_key:
            raise ConfigurationError("Credentials: access_key is empty")
        if not self.access_secret:
            raise ConfigurationError("Credentials: access_secret is empty")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        """Read ``XPORTCN_ACCESS_KEY``, ``XPORTCN_ACCESS_SECRET`` and ``XPORTCN_USER_ID``."""
        env = os.environ if environ is None else environ
        missing = [name for name in (ENV_ACCESS_KEY, ENV_ACCESS_SECRET) if not env.get(name)]
        if missing:
            raise ConfigurationError(
                f"missing environment variable(s): {', '.join(missing)} "
                "(set them, or pass Credentials(...) explicitly)"
            )
        return cls(env[ENV_ACCESS_KEY], env[ENV_ACCESS_SECRET], env.get(ENV_USER_ID) or None)
