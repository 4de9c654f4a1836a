"""Where stored files live: local disk, or an S3-compatible bucket through django-storages.

Every file Madoguchi keeps (attachments received by mail, LINE or the web form) goes through
Django's storage API (`FieldFile.save`, `.open`, `storage.delete`, `storage.exists`), never a
local path, so the same code runs on both (ADR 0020). Objects in a bucket are private: no ACL
is sent (the bucket's own policy, private by default, applies) and no URL of them is ever
handed out; a download streams through the app's authorised, audited view.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

# What a storage call may raise when the store fails (a full disk, a bucket that refuses or is
# unreachable). A missing file is `FileNotFoundError` on both (an `OSError`).
STORAGE_ERRORS: tuple[type[Exception], ...] = (OSError, BotoCoreError, ClientError)

# A download is read into a spooled temporary file: in memory up to this size, on disk above it
# (django-storages' default, 0, would keep a whole 25 MiB attachment in memory).
S3_MAX_MEMORY_BYTES = 2 * 1024 * 1024


def s3_storage_options(
    *,
    bucket_name: str,
    endpoint_url: str = "",
    region_name: str = "",
    access_key: str = "",
    secret_key: str = "",
    location: str = "",
    addressing_style: str = "",
) -> dict[str, object]:
    """Return the `OPTIONS` of django-storages' `S3Storage` for private attachments.

    Empty values are left out, so boto3 finds credentials and region its usual way (its own
    environment variables, a profile, an instance role). `endpoint_url` names an S3-compatible
    server (MinIO, Ceph, Cloudflare R2, Sakura's object storage); `addressing_style="path"` is
    what most of them want.
    """
    options: dict[str, object] = {
        "bucket_name": bucket_name,
        # No ACL on upload: the bucket's policy applies, and a private bucket stays private.
        "default_acl": None,
        # If a URL were ever asked for it would be signed and expiring, never public.
        "querystring_auth": True,
        "querystring_expire": 60,
        # Names are random (`attachment_upload_to`): no existence check before each upload.
        "file_overwrite": True,
        "signature_version": "s3v4",
        "max_memory_size": S3_MAX_MEMORY_BYTES,
        "location": location.strip("/"),
    }
    optional = {
        "endpoint_url": endpoint_url,
        "region_name": region_name,
        "access_key": access_key,
        "secret_key": secret_key,
        "addressing_style": addressing_style,
    }
    options.update({name: value for name, value in optional.items() if value})
    return options
