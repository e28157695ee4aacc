"""The Session resource's body (RFC 8620 §2), built from capability contributions."""

from __future__ import annotations

from typing import Any

from .auth import Principal
from .services import Services


def build_session(services: Services, principal: Principal, base: str) -> dict[str, Any]:
    config = services.config
    capabilities = {urn: cap.session_value(config, base) for urn, cap in services.registry.capabilities.items()}
    accounts = {}
    primary: dict[str, str] = {}
    for account in principal.accounts.values():
        accounts[account.id] = {
            "name": account.name,
            "isPersonal": account.is_personal,
            "isReadOnly": account.read_only,
            "accountCapabilities": account.capabilities,
        }
    if principal.primary_account:
        own = principal.accounts[principal.primary_account]
        for urn in own.capabilities:
            primary[urn] = own.id
    urls = services.hooks.session_urls(config, base)
    return {
        **urls,
        "capabilities": capabilities,
        "accounts": accounts,
        "primaryAccounts": primary,
        "username": principal.name,
        "apiUrl": f"{base}/jmap/api",
        "downloadUrl": f"{base}/jmap/download/{{accountId}}/{{blobId}}/{{name}}?accept={{type}}",
        "uploadUrl": f"{base}/jmap/upload/{{accountId}}",
        "state": services.session_state(principal),
    }
