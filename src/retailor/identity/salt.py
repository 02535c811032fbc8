"""The installation's secret salt for hashing emails, phones and payment tokens.

Every process of an installation must hash with the same salt, or the same email seen by
two workers would make two customers. The salt is kept in the installation store
(``storage.base.InstallationStore``): the data directory's ``identity.salt`` for the
embedded backend, the ``installation`` table when the storage is shared (PostgreSQL), so
that workers with separate data directories read the salt the first of them created.
"""

from __future__ import annotations

import secrets

from retailor.settings import SettingsError
from retailor.storage.base import InstallationStore

#: The salt's name in the installation store (and its file in a data directory).
SALT_NAME = "identity.salt"


class SaltMismatchError(SettingsError):
    """The configured ``identity_salt`` differs from the salt the shared database holds."""


def load_or_create_salt(
    installation: InstallationStore,
    configured: str = "",
    *,
    shared: bool = False,
    earlier: str | None = None,
) -> str:
    """The salt to hash identifiers with.

    Not ``shared`` (one process owns the data): ``configured`` when set, else the stored
    salt, created on first use. ``shared`` (workers share the database): the stored salt,
    created on first use from ``configured`` when set (else at random); a ``configured``
    salt that differs from the one stored is refused with ``SaltMismatchError``, since
    this worker's hashes would not match the others'. ``earlier`` is a salt this process
    used before the storage was shared (its data directory's): when nothing is configured
    or stored, the shared salt is created from it, so the hashes stay what they were.
    """
    if not shared:
        return configured or installation.get_or_create(SALT_NAME, secrets.token_hex(16))
    held = installation.get_or_create(SALT_NAME, configured or earlier or secrets.token_hex(16))
    if configured and held != configured:
        raise SaltMismatchError(
            "the identity_salt setting differs from the salt the shared database already "
            "holds: workers hashing emails and phones with different salts would not "
            "recognise the same customers. Remove the identity_salt setting to use the "
            "database's salt, or set it to the value every other worker uses."
        )
    return held
