"""Credentials of a publish: masking them in every message, and handing git the one token
it needs without it appearing in argv, a URL, a file or a log.

- :func:`scrub` removes what a credential looks like in text: the user-info of a URL,
  credential query parameters, Authorization headers, any known secret value (also
  URL-encoded or in HTTP Basic form) and anything shaped like a well-known token;
- :func:`git_token_env` is the environment of a credential helper that answers with the
  token only for the exact scheme and host[:port] of the repository URL.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from urllib.parse import quote, urlsplit

from inference_scaffolder.answers.credentials import mask_credentials

# The user-info part of a URL: everything from "scheme://" to the last "@" before the path.
# A password in a message is not always URL-encoded, so it may hold "@", ":" or spaces;
# masking a little too much is harmless, leaving the end of a password is not.
_CREDENTIALS_IN_URL = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\n]*@")
# Query parameters that carry credentials (OAuth, GitLab, signed URLs).
_CREDENTIAL_PARAMETER = re.compile(
    r"(?i)([?&;](?:access_token|refresh_token|id_token|private_token|token|auth|password"
    r"|passwd|secret|client_secret|api_key|apikey|key|sig|signature|x-amz-signature"
    r"|x-amz-credential|x-amz-security-token)=)[^&#\s'\"]*"
)
_AUTHORIZATION = re.compile(r"(?i)\b((?:proxy-)?authorization:\s*(?:basic|bearer|token)?\s*)"
                            r"[^\s'\"]+")
TOKEN_ENV_FOR_GIT = "INFERENCE_SCAFFOLDER_GIT_TOKEN"
PROTOCOL_ENV_FOR_GIT = "INFERENCE_SCAFFOLDER_GIT_PROTOCOL"
HOST_ENV_FOR_GIT = "INFERENCE_SCAFFOLDER_GIT_HOST"


def _secret_forms(secret: str) -> list[str]:
    """A secret as it may appear in text: itself, URL-encoded, and inside HTTP Basic."""
    forms = {secret, quote(secret, safe="")}
    for user in ("x-access-token", "git", ""):
        forms.add(base64.b64encode(f"{user}:{secret}".encode()).decode().rstrip("="))
    return sorted((f for f in forms if f), key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without credentials: ``scheme://user:pass@`` becomes ``scheme://***@``,
    credential query parameters and Authorization headers lose their values, any known
    secret value (also URL-encoded or in Basic form) is masked wherever it appears, and so
    is anything shaped like a well-known token."""
    cleaned = _CREDENTIALS_IN_URL.sub(r"\1***@", text)
    cleaned = _CREDENTIAL_PARAMETER.sub(r"\1***", cleaned)
    cleaned = _AUTHORIZATION.sub(r"\1***", cleaned)
    for secret in secrets:
        if secret:
            for form in _secret_forms(secret):
                cleaned = cleaned.replace(form, "***")
    return mask_credentials(cleaned)


def one_line(text: str, limit: int = 400) -> str:
    """``text`` on one line, cut at ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def credential_target(repo_url: str) -> tuple[str, str]:
    """(protocol, host[:port]) as git's credential protocol names them for ``repo_url``;
    empty for a URL that is not http(s), where the helper must never answer."""
    if "://" not in repo_url:
        return "", ""
    parts = urlsplit(repo_url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "", ""
    return parts.scheme.lower(), parts.netloc.rpartition("@")[2]


def git_token_env(token: str, repo_url: str = "") -> dict[str, str]:
    """Environment that lets git authenticate over HTTPS with ``token`` without it appearing
    in argv, the URL or a file: a credential helper (set through GIT_CONFIG_* variables)
    answers with the token it reads from the git process's own environment, and only when
    git asks for the exact scheme and host[:port] of ``repo_url``. Any other request (a
    redirect target, a submodule host) gets nothing."""
    protocol, host = credential_target(repo_url)
    helper = (
        '!f() { test "$1" = get || exit 0; p=; h=; '
        'while IFS= read -r line; do case "$line" in '
        'protocol=*) p="${line#protocol=}";; host=*) h="${line#host=}";; esac; done; '
        f'test -n "$p" && test "$p" = "${{{PROTOCOL_ENV_FOR_GIT}}}" && '
        f'test "$h" = "${{{HOST_ENV_FOR_GIT}}}" || exit 0; '
        'echo username=x-access-token; '
        f'echo "password=${{{TOKEN_ENV_FOR_GIT}}}"; }}; f'
    )
    return {
        TOKEN_ENV_FOR_GIT: token,
        PROTOCOL_ENV_FOR_GIT: protocol,
        HOST_ENV_FOR_GIT: host,
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": "credential.helper",
        "GIT_CONFIG_VALUE_0": "",
        "GIT_CONFIG_KEY_1": "credential.helper",
        "GIT_CONFIG_VALUE_1": helper,
    }
