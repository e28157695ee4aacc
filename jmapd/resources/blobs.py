"""Upload and download of binary data (RFC 8620 §6.1, §6.2)."""

from __future__ import annotations

import re
import urllib.parse

import falcon

from ..auth import Principal
from ..methods.context import CallContext, RequestContext
from ..protocol.errors import RequestError
from ..services import Services
from ..sharing import may_upload
from .api import read_body
from .common import authenticate, limit_problem, send_json, send_problem

#: A media type we will echo in Content-Type: token "/" token, simple params.
MEDIA_TYPE_RE = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
    r"(\s*;\s*[A-Za-z0-9!#$&^_.+-]+=[A-Za-z0-9!#$&^_.+-]+)*$"
)
#: Types a browser may render inline; everything else downloads.
INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "text/plain"}


def safe_media_type(value: str | None) -> str:
    if value and MEDIA_TYPE_RE.match(value):
        return value
    return "application/octet-stream"


def content_disposition(name: str, media_type: str) -> str:
    """An RFC 6266 header that cannot carry CR/LF or break out of its quotes."""
    kind = "inline" if media_type.split(";")[0].strip().lower() in INLINE_TYPES else "attachment"
    cleaned = "".join(ch for ch in name if ch.isprintable() and ch not in "\r\n\t")
    ascii_name = "".join(ch if 0x20 <= ord(ch) < 0x7F and ch not in '"\\' else "_" for ch in cleaned) or "download"
    encoded = urllib.parse.quote(cleaned, safe="")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"


def _context(services: Services, principal: Principal, method: str) -> CallContext:
    """A call context for the sharing checks of a request outside the API."""
    return CallContext(RequestContext(principal=principal, services=services, using=set()), method=method, call_id="")


def store_upload(
    services: Services, account_id: str, data: bytes, media_type: str, uploader: str | None = None
) -> str | None:
    """Charge and store an upload in one account transaction; None when it
    does not fit the quota (then nothing is stored). A sharee's upload is
    charged to the account it goes into, the owner's (RFC 9425: quotas are
    of the account), and ``uploader`` names them (:meth:`BlobStore.put`)."""
    from ..blobs import blob_id_for
    from ..db import write_transaction
    from ..quota import OverQuota, charge_upload
    from ..state import ChangeLog

    changes = ChangeLog()
    try:
        with write_transaction(account_id):
            charge_upload(services.config, changes, account_id, blob_id_for(data), len(data))
            blob_id = services.blobs.put(account_id, data, media_type, uploader)
            changes.flush()
    except OverQuota:
        return None
    services.changes_committed(changes.committed)
    return blob_id


class UploadResource:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, account_id: str) -> None:
        services = self.services
        limits = services.config.limits
        principal = await authenticate(req, services)
        account = principal.accounts.get(account_id)
        if account is None:
            raise falcon.HTTPNotFound(title="accountNotFound", description="No such account.")
        if account.read_only:
            raise falcon.HTTPForbidden(title="accountReadOnly", description="The account is read-only.")
        uploader: str | None = None
        if account.level == "shared":
            # NOTE(sharing): a sharee of single objects uploads only where a
            # right their shares give them lets them put a blob into an
            # object (Sharing.upload); the blob then opens to them alone
            ctx = _context(services, principal, "upload")
            if not await services.run(may_upload, ctx, account.id):
                send_problem(resp, RequestError(
                    "forbidden", "Your rights in this account do not let you upload to it.", status=403))
                return
            uploader = principal.principal_id
        if not services.acquire("upload", principal.user_id, limits.max_concurrent_upload):
            send_problem(resp, limit_problem("maxConcurrentUpload", "Too many concurrent uploads.", status=429))
            return
        try:
            try:
                data = await read_body(req, limits.max_size_upload, "maxSizeUpload")
            except RequestError as exc:
                exc.status = 413
                send_problem(resp, exc)
                return
            media_type = safe_media_type(req.content_type)
            blob_id = await services.run(store_upload, services, account.id, data, media_type, uploader)
            if blob_id is None:
                # RFC 8620 names no upload error for this: overQuota, as /set uses, with 413
                send_problem(resp, RequestError(
                    "urn:ietf:params:jmap:error:overQuota", "No room left in the account's storage quota.", status=413
                ))
                return
        finally:
            services.release("upload", principal.user_id)
        send_json(resp, {"accountId": account.id, "blobId": blob_id, "type": media_type, "size": len(data)}, 201)


class DownloadResource:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, account_id: str, blob_id: str, name: str
    ) -> None:
        services = self.services
        principal = await authenticate(req, services)
        account = principal.accounts.get(account_id)
        if account is None:
            raise falcon.HTTPNotFound(title="Not found", description="No such blob.")

        def fetch() -> bytes | None:
            if account.level == "shared":
                # NOTE(sharing): a sharee of single objects reaches only what a
                # plugin derives for them from objects they may read, or a blob
                # such an object opens to them (jmapd_shared_blob), or their own
                # upload (the core's answer to it), never the rest of the account
                derived = services.hooks.resolve_shared_blob(services, principal, account.id, blob_id)
                if derived is not None:
                    return derived
                if services.hooks.shared_blob(_context(services, principal, "download"), account.id, blob_id) is None:
                    return None
            data = services.blobs.get(account.id, blob_id)
            if data is None:
                data = services.hooks.resolve_blob(services, account.id, blob_id)
            return data

        data = await services.run(fetch)
        if data is None:
            raise falcon.HTTPNotFound(title="Not found", description="No such blob.")
        media_type = safe_media_type(req.get_param("accept") or req.get_param("type"))
        resp.content_type = media_type
        resp.set_header("Content-Disposition", content_disposition(name, media_type))
        resp.set_header("Cache-Control", "private, immutable, max-age=31536000")
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.set_header("Content-Security-Policy", "default-src 'none'; sandbox")
        resp.data = data
