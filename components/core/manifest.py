"""The model manifest: every model file's sha256, signed with a key kept outside the registry.

Training writes ``model_manifest.json`` into the model directory::

    {"format": 1, "files": {"feature_contract.json": "<sha256>", "model.skops": "<sha256>", ...},
     "signature": {"algorithm": "hmac-sha256", "value": "<hex>"}}

Everything that deserializes a model goes through
:func:`kfp_mlops.components.core.model_io.load_model`, which calls
:func:`verify_model_dir` first: the files on disk must be exactly the files
listed, with the listed sha256, and the signature must match.

The key comes from the environment at run time, never from an argument (so it
never reaches a compiled spec, a log or the registry): ``KFP_MLOPS_SIGNING_KEY``
(the key itself) or ``KFP_MLOPS_SIGNING_KEY_FILE`` (a mounted secret file).
Without a key the manifest is unsigned, and only accidental corruption is
caught: whoever can write the model directory can also rewrite the manifest.
With a key, an unsigned manifest, a missing one or a wrong signature is refused.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from kfp_mlops.components.core.artifacts import sha256_file, sha256_tree
from kfp_mlops.components.core.errors import ChecksumError, InputError

logger = logging.getLogger(__name__)

MANIFEST_FILE = "model_manifest.json"
KEY_ENV = "KFP_MLOPS_SIGNING_KEY"
KEY_FILE_ENV = "KFP_MLOPS_SIGNING_KEY_FILE"
SIGNATURE_ALGORITHM = "hmac-sha256"
FORMAT = 1
NO_KEY_WARNING = (f"no model signing key ({KEY_ENV} or {KEY_FILE_ENV} unset): model manifests are unsigned, "
                  "so only accidental corruption is caught, not a deliberate change")
_warned = False


@dataclass
class Verification:
    """What :func:`verify_model_dir` checked.

    Attributes:
        model_dir: The directory checked.
        files: Relative path -> sha256 of every verified file.
        signed: True when a signing key was set and the manifest's signature matched.
        legacy: True for a directory with no manifest (an old registry version),
            accepted only on the registry's recorded sha256 and with no key set.
    """

    model_dir: str
    files: dict[str, str] = field(default_factory=dict)
    signed: bool = False
    legacy: bool = False

    def describe(self) -> str:
        """One line saying what was verified and what that protects against."""
        if self.legacy:
            return (f"{len(self.files)} file(s) match the registry's sha256; no manifest (a model from an older "
                    "trainer): only accidental corruption is caught")
        if self.signed:
            return f"{len(self.files)} file(s) match the manifest, signature verified ({SIGNATURE_ALGORITHM})"
        return (f"{len(self.files)} file(s) match the manifest; UNSIGNED (no {KEY_ENV} or {KEY_FILE_ENV}): "
                "only accidental corruption is caught")


def signing_key() -> bytes | None:
    """The signing key from ``$KFP_MLOPS_SIGNING_KEY`` or the file named by ``$KFP_MLOPS_SIGNING_KEY_FILE``.

    Returns:
        The key's bytes, or None when neither is set (a warning is logged once).

    Raises:
        InputError: If the key file cannot be read or is empty.
    """
    global _warned
    key = os.environ.get(KEY_ENV, "")
    if key:
        return key.encode()
    key_file = os.environ.get(KEY_FILE_ENV, "")
    if key_file:
        try:
            data = Path(key_file).read_bytes().strip()
        except OSError as error:
            raise InputError(
                f"{KEY_FILE_ENV}: cannot read the signing key file {key_file}: {error.strerror}") from error
        if not data:
            raise InputError(f"{KEY_FILE_ENV}: the signing key file {key_file} is empty")
        return data
    if not _warned:
        logger.warning(NO_KEY_WARNING)
        _warned = True
    return None


def hash_files(model_dir: str | os.PathLike) -> dict[str, str]:
    """Relative POSIX path -> sha256 of every file in ``model_dir``, the manifest excepted."""
    root = Path(model_dir)
    return {path.relative_to(root).as_posix(): sha256_file(path)
            for path in sorted(root.rglob("*"))
            if path.is_file() and path.relative_to(root).as_posix() != MANIFEST_FILE}


def _payload(files: dict[str, str]) -> bytes:
    return json.dumps({"format": FORMAT, "files": files}, sort_keys=True, separators=(",", ":")).encode()


def _sign(files: dict[str, str], key: bytes) -> str:
    return hmac.new(key, _payload(files), hashlib.sha256).hexdigest()


def write_manifest(model_dir: str | os.PathLike) -> Path:
    """Writes ``model_manifest.json`` over every file in ``model_dir``, signed when a key is set.

    Call it last, once every model file is written.

    Returns:
        The manifest's path.
    """
    files = hash_files(model_dir)
    key = signing_key()
    signature = {"algorithm": SIGNATURE_ALGORITHM, "value": _sign(files, key)} if key else None
    path = Path(model_dir) / MANIFEST_FILE
    path.write_text(json.dumps({"format": FORMAT, "files": files, "signature": signature}, indent=2, sort_keys=True))
    logger.info("wrote %s over %d file(s), %s", path, len(files), "signed" if key else "unsigned")
    return path


def _read_manifest(path: Path) -> dict:
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ChecksumError(f"{path} is damaged ({error}); refusing to load the model") from error
    if (not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict)
            or manifest.get("format") != FORMAT):
        raise ChecksumError(f"{path} is not a format-{FORMAT} model manifest; refusing to load the model")
    return manifest


def verify_model_dir(model_dir: str | os.PathLike, expected_sha256: str = "") -> Verification:
    """Checks a model directory against its manifest (and signature) without deserializing anything.

    Args:
        model_dir: The model directory.
        expected_sha256: A recorded :func:`~kfp_mlops.components.core.artifacts.sha256_tree`
            of the directory (the registry's or the deployment record's); checked when given.

    Returns:
        A :class:`Verification`.

    Raises:
        ChecksumError: One line naming the file or record at fault: a sha256
            mismatch, a missing, extra or changed file, a missing or damaged
            manifest, a missing or wrong signature.
    """
    root = Path(model_dir)
    if not root.is_dir():
        raise InputError(f"model directory not found: {model_dir}")
    if expected_sha256:
        actual = sha256_tree(root)
        if actual != expected_sha256:
            raise ChecksumError(f"{model_dir}: sha256 mismatch (recorded {expected_sha256[:12]}, found {actual[:12]}); "
                                "refusing to load")
    key = signing_key()
    path = root / MANIFEST_FILE
    if not path.is_file():
        if key is None and expected_sha256:
            logger.warning("%s has no %s (a model from an older trainer): accepted on the registry's sha256 only",
                           model_dir, MANIFEST_FILE)
            return Verification(str(model_dir), hash_files(root), legacy=True)
        reason = ("a signing key is set, so unsigned models are refused" if key
                  else "there is nothing to verify it against")
        raise ChecksumError(f"{model_dir} has no {MANIFEST_FILE}: {reason}; refusing to load (retrain it)")
    manifest = _read_manifest(path)
    listed: dict[str, str] = manifest["files"]
    found = hash_files(root)
    for name in sorted(set(listed) | set(found)):
        if name not in found:
            raise ChecksumError(f"{model_dir}: {name} is listed in {MANIFEST_FILE} but missing; refusing to load")
        if name not in listed:
            raise ChecksumError(f"{model_dir}: {name} is not listed in {MANIFEST_FILE}; refusing to load")
        if found[name] != listed[name]:
            raise ChecksumError(f"{model_dir}: {name} does not match its sha256 in {MANIFEST_FILE} "
                                f"(listed {str(listed[name])[:12]}, found {found[name][:12]}); refusing to load")
    if key is None:
        return Verification(str(model_dir), found)
    signature = manifest.get("signature") or {}
    if not isinstance(signature, dict) or signature.get("algorithm") != SIGNATURE_ALGORITHM:
        raise ChecksumError(f"{path} is unsigned, and a signing key is set; refusing to load "
                            "(retrain with the key set; a cached run needs --no-cache)")
    if not hmac.compare_digest(str(signature.get("value", "")), _sign(listed, key)):
        raise ChecksumError(f"{path}: the signature does not match (another key signed it, or the manifest was "
                            "rewritten); refusing to load")
    return Verification(str(model_dir), found, signed=True)


def read_verified(model_dir: str | os.PathLike, name: str, verification: Verification) -> bytes:
    """Reads one verified file's bytes, checking them again (nothing changes between check and use).

    Raises:
        ChecksumError: If the file is not in ``verification`` or its bytes changed since.
    """
    data = (Path(model_dir) / name).read_bytes()
    if name not in verification.files or hashlib.sha256(data).hexdigest() != verification.files[name]:
        raise ChecksumError(f"{model_dir}: {name} changed after it was verified; refusing to load")
    return data
