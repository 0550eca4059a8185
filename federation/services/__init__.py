"""Write operations of the federation app (identity providers, domain claims) and the connection test.

Import from here: `from federation.services import identity_provider_create`.
"""

from federation.services.connection import ConnectionReport, identity_provider_test
from federation.services.domains import (
    domain_claim_create,
    domain_claim_delete,
    domain_claim_verify_by_dns,
    domain_claim_verify_by_operator,
    domain_normalise,
)
from federation.services.identities import (
    LinkedIdentity,
    identity_list,
    identity_unlink,
    identity_unlink_problem,
)
from federation.services.providers import (
    IdentityProviderInput,
    identity_provider_create,
    identity_provider_delete,
    identity_provider_input,
    identity_provider_update,
)

__all__ = [
    "ConnectionReport",
    "IdentityProviderInput",
    "LinkedIdentity",
    "domain_claim_create",
    "domain_claim_delete",
    "domain_claim_verify_by_dns",
    "domain_claim_verify_by_operator",
    "domain_normalise",
    "identity_list",
    "identity_provider_create",
    "identity_provider_delete",
    "identity_provider_input",
    "identity_provider_test",
    "identity_provider_update",
    "identity_unlink",
    "identity_unlink_problem",
]
