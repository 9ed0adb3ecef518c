"""Where a lakehouse's files live: its home folder (the laptop default) or an object store.

``[storage] url = "s3://bucket/prefix"`` (with ``endpoint``, ``region`` and credentials in
lakebook.toml or the standard ``AWS_*`` environment variables) puts Delta tables there. A
:class:`Location` names one folder of the storage; the same code serves a local folder and
an S3 prefix:

* Delta tables go through deltalake's object store (:attr:`Location.delta_options`);
* reads and plain files go through a native ``pyarrow.fs`` filesystem
  (:meth:`Location.filesystem`: ``SubTreeFileSystem`` over ``LocalFileSystem`` or
  ``S3FileSystem``), which DuckDB then reads as Arrow datasets (no ``httpfs`` needed).

Concurrent Delta commits on S3 are safe only where the store honours conditional writes
(``PUT`` with ``If-None-Match: *``), which deltalake 1.x uses for every commit: a store that
ignores the header loses commits silently. :meth:`Storage.check_conditional_put` proves it
once per process before the first write, and refuses (or, with ``[storage]
conditional_put = "warn"``, warns about) an endpoint that does not.
"""
from __future__ import annotations

import logging
import os
import re
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

from ..shared.errors import InvalidInput, LakebookError
from ..shared.plugins import Registry

log = logging.getLogger("kernel_magics.storage")

#: how often and how long an S3 request is retried before the endpoint counts as unreachable
S3_RETRIES = 2
S3_RETRY_TIMEOUT = "10s"


class StorageError(LakebookError):
    """The storage cannot be used as configured (unreachable, refused, missing bucket)."""

    http_status = 503


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Storage:
    """The storage root of a lakehouse: a local folder or ``s3://bucket/prefix``."""

    root: str
    endpoint: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    conditional_put: str = "refuse"
    _checked: bool = field(default=False, repr=False)
    _lock: Any = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_config(cls, config: Any) -> "Storage":
        """The storage ``lakebook.toml`` names (``[storage] url``), else the home folder."""
        url = config.storage_url
        if not url:
            return cls(str(Path(config.home)))
        scheme = urlparse(url).scheme
        KINDS.check(scheme)
        if config.storage_conditional_put not in ("refuse", "warn"):
            raise InvalidInput(f"[storage] conditional_put must be \"refuse\" or \"warn\", not "
                               f"{config.storage_conditional_put!r}.")
        return cls(url.rstrip("/"), config.storage_endpoint, config.storage_region,
                   config.storage_access_key_id, config.storage_secret_access_key,
                   config.storage_conditional_put)

    @property
    def is_local(self) -> bool:
        return "://" not in self.root

    def location(self, relative: str = "") -> "Location":
        """The folder ``relative`` to the storage root."""
        return Location(self, str(PurePosixPath(relative)) if relative else "")

    def find(self, uri: str | None, within: str = "") -> "Location | None":
        """The location of a file recorded by its URI or path (a run's notebook, a report),
        if it is inside this storage's folder ``within``; None otherwise. The sandbox of
        every door serving a stored file: local paths are compared with symlinks followed,
        and an object key with ``..`` segments is refused."""
        if not uri:
            return None
        top = self.location(within)
        if self.is_local and "://" not in uri:
            real, root = Path(uri).resolve(), Path(top.uri).resolve()
            if real == root or root in real.parents:
                return self.location(str(real.relative_to(Path(self.root).resolve())))
        elif not self.is_local and uri.startswith(top.uri.rstrip("/") + "/"):
            return self._safe(uri[len(self.root) + 1:])
        # recorded by another storage (a laptop lakehouse migrated here): the same folder
        marker = f"/{within.strip('/')}/"
        if within and marker in uri:
            return self._safe(within.strip("/") + "/" + uri.rsplit(marker, 1)[1])
        return None

    def _safe(self, relative: str) -> "Location | None":
        if any(part in ("", ".", "..") for part in relative.split("/")):
            return None
        found = self.location(relative)
        if self.is_local:  # a symlink must not lead out of the storage
            real, root = Path(found.uri).resolve(), Path(self.root).resolve()
            if root not in real.parents:
                return None
        return found

    # -- S3 settings (toml first, then the standard AWS environment variables) ------------------
    @property
    def bucket(self) -> str:
        return urlparse(self.root).netloc

    @property
    def prefix(self) -> str:
        return urlparse(self.root).path.strip("/")

    def _setting(self, value: str | None, *env: str) -> str | None:
        if value:
            return value
        for name in env:
            if os.environ.get(name):
                return os.environ[name]
        return None

    @property
    def endpoint_url(self) -> str | None:
        return self._setting(self.endpoint, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")

    def delta_options(self) -> dict[str, str] | None:
        """deltalake's storage options (strings only); None for a local folder."""
        if self.is_local:
            return None
        options = {"AWS_REGION": self._setting(self.region, "AWS_REGION",
                                               "AWS_DEFAULT_REGION") or "us-east-1",
                   "max_retries": str(S3_RETRIES), "retry_timeout": S3_RETRY_TIMEOUT}
        key = self._setting(self.access_key_id, "AWS_ACCESS_KEY_ID")
        secret = self._setting(self.secret_access_key, "AWS_SECRET_ACCESS_KEY")
        if key and secret:
            options.update(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret)
        if self.endpoint_url:
            options["AWS_ENDPOINT_URL"] = self.endpoint_url
            if self.endpoint_url.startswith("http://"):
                options["AWS_ALLOW_HTTP"] = "true"
        return options

    def base_filesystem(self):
        """The native pyarrow filesystem of the storage (not rooted at the prefix)."""
        import pyarrow.fs as pafs
        if self.is_local:
            return pafs.LocalFileSystem()
        kwargs: dict[str, Any] = {
            "region": self._setting(self.region, "AWS_REGION", "AWS_DEFAULT_REGION")
            or "us-east-1",
            "connect_timeout": 5, "request_timeout": 30,
            "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=3)}
        key = self._setting(self.access_key_id, "AWS_ACCESS_KEY_ID")
        secret = self._setting(self.secret_access_key, "AWS_SECRET_ACCESS_KEY")
        if key and secret:
            kwargs.update(access_key=key, secret_key=secret)
        if self.endpoint_url:
            parsed = urlparse(self.endpoint_url)
            kwargs.update(endpoint_override=parsed.netloc or parsed.path,
                          scheme=parsed.scheme or "https")
        return pafs.S3FileSystem(**kwargs)

    # -- what a failure means ----------------------------------------------------------------
    def where(self) -> str:
        if self.is_local:
            return f"the folder {self.root}"
        at = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"the storage {self.root}{at}"

    def explain(self, exc: BaseException, doing: str) -> StorageError:
        """A driver's failure as one sentence naming the bucket, endpoint and setting."""
        text = _ANSI.sub("", str(exc))
        where = self.where()
        if any(s in text for s in ("NO_SUCH_BUCKET", "NoSuchBucket", "404 Not Found",
                                   "bucket does not exist")):
            return StorageError(f"{where[0].upper()}{where[1:]} has no bucket "
                                f"{self.bucket!r} ({doing}).",
                                "Create the bucket, or fix [storage] url in lakebook.toml.")
        if any(s in text for s in ("lacked the necessary privileges", "403", "Forbidden",
                                   "ACCESS_DENIED", "InvalidAccessKeyId",
                                   "SignatureDoesNotMatch")):
            return StorageError(f"{where[0].upper()}{where[1:]} refused the credentials "
                                f"({doing}).",
                                "Check [storage] access_key_id and secret_access_key in "
                                "lakebook.toml (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).")
        if any(s in text for s in ("connect", "Connect", "NETWORK_CONNECTION", "retries",
                                   "dns error", "timed out", "Timeout")):
            return StorageError(f"{where[0].upper()}{where[1:]} is unreachable ({doing}).",
                                "Check that the S3 endpoint runs and [storage] endpoint in "
                                "lakebook.toml (or AWS_ENDPOINT_URL) names it.")
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        return StorageError(f"{where[0].upper()}{where[1:]} failed ({doing}): {first[:300]}.",
                            "Check the [storage] settings in lakebook.toml.")

    # -- conditional writes ------------------------------------------------------------------
    def check_conditional_put(self) -> bool:
        """Prove once that the endpoint refuses a second ``PUT`` with ``If-None-Match: *``
        of one key (what keeps concurrent Delta commits from overwriting each other).
        Returns whether it does; refuses with :class:`StorageError` when it does not, unless
        ``conditional_put = "warn"``."""
        if self.is_local or self._checked:
            return True
        with self._lock:
            if self._checked:
                return True
            honoured = self._probe_conditional_put()
            if not honoured:
                message = (f"{self.where()[0].upper()}{self.where()[1:]} does not honour "
                           "conditional writes (PUT If-None-Match), so two writers committing "
                           "to one Delta table at once could lose a commit without an error.")
                if self.conditional_put != "warn":
                    raise StorageError(message, "Use an S3 service that supports conditional "
                                       "writes (AWS S3, MinIO, R2 do), or set [storage] "
                                       'conditional_put = "warn" to accept the risk.')
                log.warning("%s Writing anyway ([storage] conditional_put = \"warn\").",
                            message)
            self._checked = True
            return honoured

    def _probe_conditional_put(self) -> bool:
        key = f"{self.prefix}/_lakebook_probe/{uuid.uuid4().hex}".lstrip("/")
        return _conditional_put(self, key)


def _client(storage: Storage):
    """A boto3 S3 client on the storage's endpoint and credentials (pyarrow and deltalake
    expose no conditional PUT of their own)."""
    try:
        import boto3
    except ImportError:
        raise StorageError("Conditional writes to the S3 endpoint need boto3.",
                           "pip install 'lakebook[team]'.") from None
    options = storage.delta_options() or {}
    return boto3.client("s3", endpoint_url=storage.endpoint_url,
                        region_name=options.get("AWS_REGION"),
                        aws_access_key_id=options.get("AWS_ACCESS_KEY_ID"),
                        aws_secret_access_key=options.get("AWS_SECRET_ACCESS_KEY"))


def _conditional_put(storage: Storage, key: str) -> bool:
    """PUT one key twice with ``If-None-Match: *`` (boto3: pyarrow and deltalake expose no
    conditional PUT of their own); the second must answer 412."""
    client = _client(storage)
    from botocore.exceptions import BotoCoreError, ClientError
    try:
        client.put_object(Bucket=storage.bucket, Key=key, Body=b"1", IfNoneMatch="*")
        try:
            client.put_object(Bucket=storage.bucket, Key=key, Body=b"2", IfNoneMatch="*")
            return False
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 412 or code in ("PreconditionFailed", "ConditionalRequestConflict"):
                return True
            raise
        finally:
            client.delete_object(Bucket=storage.bucket, Key=key)
    except (ClientError, BotoCoreError) as exc:
        raise storage.explain(exc, "checking conditional writes") from None


def _put_if_absent(storage: Storage, key: str, data: bytes) -> bool:
    """PUT ``key`` unless it exists (``If-None-Match: *``); False when it did."""
    from botocore.exceptions import BotoCoreError, ClientError
    try:
        _client(storage).put_object(Bucket=storage.bucket, Key=key, Body=data,
                                    IfNoneMatch="*")
        return True
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 412 or exc.response.get("Error", {}).get("Code") in (
                "PreconditionFailed", "ConditionalRequestConflict"):
            return False
        raise storage.explain(exc, f"writing {storage.root}/{key}") from None
    except BotoCoreError as exc:
        raise storage.explain(exc, f"writing {storage.root}/{key}") from None


KINDS: Registry[str] = Registry("storage kind", "storage", "url")
KINDS.register("s3", "s3")


@dataclass(frozen=True)
class Location:
    """One folder (or file) of a lakehouse's storage."""

    storage: Storage
    relative: str

    def __truediv__(self, name: str) -> "Location":
        return Location(self.storage, str(PurePosixPath(self.relative, str(name))).lstrip("/")
                        if self.relative else str(PurePosixPath(str(name))))

    @property
    def name(self) -> str:
        return PurePosixPath(self.relative).name

    @property
    def parent(self) -> "Location":
        """The folder holding this one (the storage root's own parent is the root)."""
        parent = str(PurePosixPath(self.relative).parent)
        return Location(self.storage, "" if parent == "." else parent)

    @property
    def uri(self) -> str:
        """What deltalake opens: a local path or ``s3://bucket/prefix/relative``."""
        if not self.relative:
            return self.storage.root
        if self.storage.is_local:
            return str(Path(self.storage.root) / self.relative)
        return f"{self.storage.root}/{self.relative}"

    def __str__(self) -> str:
        return self.uri

    def __fspath__(self) -> str:
        if not self.storage.is_local:
            raise TypeError(f"{self.uri} is not a local path")
        return self.uri

    @property
    def local_path(self) -> Path | None:
        """The local folder (None on an object store)."""
        return Path(self.uri) if self.storage.is_local else None

    @property
    def delta_options(self) -> dict[str, str] | None:
        return self.storage.delta_options()

    @property
    def _path(self) -> str:
        """This location's path on :meth:`Storage.base_filesystem`."""
        if self.storage.is_local:
            return self.uri
        return "/".join(p for p in (self.storage.bucket, self.storage.prefix, self.relative) if p)

    def filesystem(self):
        """A native pyarrow filesystem rooted here (what Delta datasets are read through)."""
        import pyarrow.fs as pafs
        return pafs.SubTreeFileSystem(self._path, self.storage.base_filesystem())

    def _guard(self, doing: str):
        return _Guard(self, doing)

    def exists(self) -> bool:
        import pyarrow.fs as pafs
        with self._guard("looking for " + self.uri):
            info = self.storage.base_filesystem().get_file_info(self._path)
        return info.type != pafs.FileType.NotFound

    def read_bytes(self) -> bytes:
        with self._guard("reading " + self.uri):
            with self.storage.base_filesystem().open_input_stream(self._path) as f:
                return f.read()

    def read_text(self) -> str:
        return self.read_bytes().decode()

    def write_bytes(self, data: bytes) -> None:
        """Write the file whole (a reader never sees half of it: an object PUT, or a local
        temporary file renamed into place)."""
        if self.storage.is_local:
            path = Path(self._path)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
            return
        with self._guard("writing " + self.uri):
            with self.storage.base_filesystem().open_output_stream(self._path) as f:
                f.write(data)

    def write_text(self, text: str) -> None:
        self.write_bytes(text.encode())

    def create(self, data: bytes) -> bool:
        """Write this file only if nothing is there yet, atomically against other processes
        and hosts (a local exclusive create; on S3 a conditional ``PUT If-None-Match: *``).
        Returns False when it existed (what claims a file for one process)."""
        if self.storage.is_local:
            path = Path(self._path)
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                with path.open("xb") as f:
                    f.write(data)
            except FileExistsError:
                return False
            return True
        return _put_if_absent(self.storage, self._key, data)

    @property
    def _key(self) -> str:
        return "/".join(p for p in (self.storage.prefix, self.relative) if p)

    def files(self) -> list[str]:
        """Every file under this folder, as paths relative to it (sorted)."""
        import pyarrow.fs as pafs
        with self._guard("listing " + self.uri):
            infos = self.storage.base_filesystem().get_file_info(
                pafs.FileSelector(self._path, recursive=True, allow_not_found=True))
        base = self._path.rstrip("/") + "/"
        return sorted(i.path[len(base):] for i in infos
                      if i.type == pafs.FileType.File and i.path.startswith(base))

    def put_folder(self, local: Path) -> int:
        """Copy every file under the local folder ``local`` here (same relative names;
        streamed, several at once); nothing when this location is that folder. Returns the
        number of files copied."""
        import pyarrow.fs as pafs
        local = Path(local)
        if self.storage.is_local and Path(self.uri).resolve() == local.resolve():
            return 0
        count = sum(1 for p in local.rglob("*") if p.is_file())
        with self._guard("writing " + self.uri):
            pafs.copy_files(str(local), self._path, source_filesystem=pafs.LocalFileSystem(),
                            destination_filesystem=self.storage.base_filesystem())
        return count

    def get_folder(self, local: Path) -> int:
        """Copy every file under this folder into the local folder ``local`` (what a library
        that needs a path opens); returns the number of files (0: nothing is there)."""
        import pyarrow.fs as pafs
        names = self.files()
        for name in names:  # an object store lists no folders: pyarrow would not make them
            (Path(local) / name).parent.mkdir(parents=True, exist_ok=True)
        count = len(names)
        if count:
            with self._guard("reading " + self.uri):
                pafs.copy_files(self._path, str(local),
                                source_filesystem=self.storage.base_filesystem(),
                                destination_filesystem=pafs.LocalFileSystem())
        return count


    def names(self, suffix: str = "") -> list[str]:
        """The names of the entries directly in this folder (ending in ``suffix``)."""
        import pyarrow.fs as pafs
        with self._guard("listing " + self.uri):
            infos = self.storage.base_filesystem().get_file_info(
                pafs.FileSelector(self._path, allow_not_found=True))
        return sorted(i.base_name for i in infos if i.base_name.endswith(suffix))

    def delete_file(self) -> None:
        """Remove this file (nothing when it is not there)."""
        with self._guard("deleting " + self.uri):
            try:
                self.storage.base_filesystem().delete_file(self._path)
            except FileNotFoundError:
                pass

    def delete(self) -> None:
        """Remove this folder and everything under it (nothing when it is not there)."""
        if not self.exists():
            return
        with self._guard("deleting " + self.uri):
            self.storage.base_filesystem().delete_dir(self._path)


class _Guard:
    """Turn an object store's OSError into a :class:`StorageError` (a missing file stays a
    FileNotFoundError: the callers decide what that means)."""

    def __init__(self, location: Location, doing: str) -> None:
        self.location, self.doing = location, doing

    def __enter__(self) -> None:
        return None

    def __exit__(self, typ, exc, tb) -> bool:
        if exc is None or isinstance(exc, FileNotFoundError) or self.location.storage.is_local:
            return False
        if isinstance(exc, OSError):
            raise self.location.storage.explain(exc, self.doing) from None
        return False
