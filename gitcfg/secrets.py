"""What looks like a secret: credential file names, well-known token shapes, URL userinfo.

Pure functions (no git, no files), used where gitcfg records something that could carry a secret:
the untracked files captured into diff.patch (gitio), `remote_url`, config values and the
command line (configuration), a failed run's exception message (tracking). They are heuristics:
they catch the common shapes (docs/reliability.md lists them), not every secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASKED = "***"

# Base names (lower-cased) that hold credentials, whatever is inside.
_CREDENTIAL_NAMES = re.compile(
    r"""\A(?:
        \.env.* | .*\.env
      | .*\.(?:pem|key|p12|pfx|jks|keystore|ppk|tfvars|tfstate)
      | id_(?:rsa|dsa|ecdsa|ed25519)(?:_sk)?
      | credentials.* | secrets (?:[._-].*)? | .*[._-]credentials\..* | client_secret.*\.json
      | service[-_]account.*\.json | kubeconfig.*
      | [._]netrc | \.npmrc | \.pypirc | \.git-credentials | \.pgpass | \.my\.cnf | \.htpasswd
      | \.dockercfg
    )\Z""",
    re.VERBOSE | re.DOTALL,
)
# Directories (a path component, lower-cased) whose every file is a credential store: ssh and gpg
# keys, cloud CLI configuration (gcloud, azure), and the config files named below.
_CREDENTIAL_DIRS = frozenset({".ssh", ".gnupg", "gcloud", ".azure", ".aws", ".kube", ".docker"})


def credential_file(path: str) -> bool:
    """Whether the repository-relative `path` names a file that holds credentials by its name."""
    parts = path.lower().split("/")
    if _CREDENTIAL_NAMES.match(parts[-1]):
        return True
    return any(part in _CREDENTIAL_DIRS for part in parts[:-1])


# Well-known secret shapes. Tokens are matched whole, with their fixed prefixes, so `sk-` in prose
# or a `hf_` variable name does not match; `password=` lines need a literal value.
_TOKEN = (
    rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
    rb"|\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b"  # AWS access key ids
    rb"|\bAIza[0-9A-Za-z_\-]{35}"  # Google API keys
    rb"|\bsk-(?:[a-z]+-)?[A-Za-z0-9_\-]{20,}"  # OpenAI, Anthropic
    rb"|\bhf_[A-Za-z0-9]{30,}"  # Hugging Face
    rb"|\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}|\bgithub_pat_[A-Za-z0-9_]{22,}"  # GitHub
    rb"|\bglpat-[A-Za-z0-9_\-]{20,}"  # GitLab
    rb"|\bxox[abposr]-[A-Za-z0-9-]{10,}"  # Slack
    rb"|\b[rs]k_live_[0-9A-Za-z]{20,}"  # Stripe
    rb"|\bnpm_[A-Za-z0-9]{36}\b|\bpypi-[A-Za-z0-9_\-]{50,}"  # npm, PyPI
)
_PASSWORD_LINE = (
    rb"(?im)^[ \t]*(?:export[ \t]+)?[\w.\-\"']*(?:password|passwd|passphrase|pwd)[\w\-\"']*"
    rb"[ \t]*[=:][ \t]*"
    rb"(?:\"[^\"\n$%{]{4,}\"|'[^'\n$%{]{4,}'"  # a quoted literal
    # an unquoted literal with a digit or a symbol in it (not `args.password`, `get_pw()`, `None`)
    rb"|(?![A-Za-z_]+(?:\.\w+)*[ \t]*(?:#.*)?$)[^\s'\"$%{<(\[][^\s'\"()\[\]]{3,}[ \t]*(?:#.*)?$)"
)
_TOKEN_SHAPE = re.compile(_TOKEN)
_PASSWORD_SHAPE = re.compile(_PASSWORD_LINE)
# Literals one of which every token shape holds: most text has none, and is not searched further.
_TOKEN_MARKS = (
    b"PRIVATE KEY",
    b"AKIA",
    b"ASIA",
    b"AGPA",
    b"AIDA",
    b"AROA",
    b"AIza",
    b"sk-",
    b"hf_",
    b"gh",
    b"github_pat_",
    b"glpat-",
    b"xox",
    b"k_live_",
    b"npm_",
    b"pypi-",
)
_TOKEN_TEXT = re.compile(_TOKEN.decode())
# scheme://user:password@host, or scheme://token@host when the user part is a token
_URL_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.\-]*://)([^/@\s:]*)(?::([^/@\s]*))?@")


def secret_shape(data: bytes) -> bool:
    """Whether `data` holds a private key, a well-known token shape or a `password=` literal."""
    if any(mark in data for mark in _TOKEN_MARKS) and _TOKEN_SHAPE.search(data):
        return True
    lowered = data.lower()
    if b"pass" not in lowered and b"pwd" not in lowered:
        return False
    return _PASSWORD_SHAPE.search(data) is not None


def strip_url_credentials(url: str) -> str:
    """`url` without its userinfo: `https://user:token@host/x` -> `https://host/x`."""
    return _URL_USERINFO.sub(r"\1", url)


def mask_url_passwords(text: str) -> str:
    """`text` with the password of every URL in it masked (`https://user:***@host`), and a user
    part that is a token shape (`https://ghp_...@github.com`) too."""
    if "@" not in text:
        return text

    def masked(match: re.Match[str]) -> str:
        scheme, user, password = match.groups()
        if password:
            return f"{scheme}{user}:{MASKED}@"
        if _TOKEN_TEXT.fullmatch(user):
            return f"{scheme}{MASKED}@"
        return match.group(0)

    return _URL_USERINFO.sub(masked, text)


def mask_text(text: str, values: Iterable[str] = ()) -> str:
    """`text` (an error message, a traceback) with `values` (the run's secret config and argv
    values), URL passwords and token shapes replaced by MASKED."""
    for value in sorted({v for v in values if len(v) >= 4}, key=len, reverse=True):
        text = text.replace(value, MASKED)
    return _TOKEN_TEXT.sub(MASKED, mask_url_passwords(text))
