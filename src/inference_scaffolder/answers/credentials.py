"""Values shaped like credentials, refused in every answer.

Answers are written into the service repository (values files, the catalog entry, the
answers record) and committed: a token pasted into any answer, as an environment variable's
value or even into the description, ends up in Git history for everyone who can clone it.
Credentials belong in Vault, referenced by path through ``extra_secrets``.

The shapes are the documented prefixes of well-known token formats followed by enough
random-looking characters that ordinary text does not match. Every pattern is a literal
prefix and one bounded character class, so matching is linear in the answer's length.
"""

from __future__ import annotations

import re

from inference_scaffolder.errors import UserError

# (what it looks like, pattern); the look-behind keeps a prefix inside a longer word quiet.
_SHAPES: tuple[tuple[str, str], ...] = (
    ("a Hugging Face token", r"hf_[A-Za-z0-9]{30,}"),
    ("a GitHub token", r"gh[pousr]_[A-Za-z0-9]{30,}"),
    ("a GitHub token", r"github_pat_[A-Za-z0-9_]{30,}"),
    ("an API key (sk-...)", r"sk-(?:proj-|svcacct-|admin-|ant-api\d\d-)[A-Za-z0-9_-]{20,}"),
    ("an API key (sk-...)", r"sk-[A-Za-z0-9]{32,}"),
    ("a Slack token", r"xox[abposr]-[A-Za-z0-9-]{10,}"),
    ("an AWS access key id", r"(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"),
    ("a JSON Web Token", r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
    ("a private key", r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY"),
    ("a GitLab token", r"glpat-[A-Za-z0-9_-]{20,}"),
    ("a Google API key", r"AIza[0-9A-Za-z_-]{35}"),
)
_CREDENTIAL = re.compile(
    "|".join(f"(?P<c{i}>(?<![A-Za-z0-9_]){pattern})" for i, (_, pattern) in enumerate(_SHAPES))
)


def credential_kind(text: str) -> str | None:
    """What credential ``text`` contains, in words, or None."""
    match = _CREDENTIAL.search(text)
    if match is None:
        return None
    return _SHAPES[int(str(match.lastgroup)[1:])][0]


def refuse_credential(path: str, text: str) -> None:
    """Refuse an answer holding a credential; the message never repeats the value."""
    kind = credential_kind(text)
    if kind is not None:
        raise UserError(path, f"looks like {kind}: answers are committed to the service "
                        "repository, so a secret never goes in one; store it in Vault and "
                        "give its path in extra_secrets")


def mask_credentials(text: str) -> str:
    """``text`` with every credential-shaped token replaced by ``***`` (for messages that
    quote a server's or a tool's output, which may echo a token the tool never saw)."""
    return _CREDENTIAL.sub("***", text)
