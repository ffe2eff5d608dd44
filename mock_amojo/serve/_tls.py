"""HTTPS for the served fake: a local test CA and a server certificate for this machine's names and amojo's hosts.

For a client that insists on ``https://`` — or hard-codes ``https://amojo.amocrm.ru`` — ``mock-amojo serve --tls``
serves with a certificate issued by a CA made here (with ``trustme``: ``pip install 'mock-amojo[tls]'``).
:func:`tls_files` makes the files, or keeps the ones in ``--tls-dir`` while they still fit:

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as directory:
...     first = tls_files(directory)
...     again = tls_files(directory)
...     (first.reused, again.reused, again.ca == first.ca, sorted(p.name for p in Path(directory).iterdir()))
(False, True, True, ['ca.pem', 'server-key.pem', 'server.pem'])
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..errors import ConfigError
from ..wire._endpoints import AMOJO_HOSTS

__all__ = ["TLS_NAMES", "TlsFiles", "tls_banner", "tls_files"]

#: What every certificate names: how a client on this machine reaches the fake, and amojo's own hosts.
TLS_NAMES = ("localhost", "127.0.0.1", "::1", *AMOJO_HOSTS)
# A kept certificate closer than this to its end is made anew: it must outlast the run that reuses it.
_MARGIN = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """The CA certificate clients trust, the server's certificate and key; ``temporary``: removed by :meth:`discard`."""

    ca: Path
    cert: Path
    key: Path
    names: tuple[str, ...]
    reused: bool = False
    temporary: bool = False

    def discard(self) -> None:
        """Remove the files if they were made for this run only."""
        if self.temporary:
            shutil.rmtree(self.ca.parent, ignore_errors=True)


def tls_files(directory: str | os.PathLike[str] | None = None, extra_names: tuple[str, ...] = ()) -> TlsFiles:
    """The CA and server certificate in ``directory`` (kept there, reused while valid for the names), or in a fresh temporary one."""
    names = tuple(dict.fromkeys((*TLS_NAMES, *(n for n in extra_names if _nameable(n)))))
    temporary = directory is None
    folder = Path(tempfile.mkdtemp(prefix="mock-amojo-tls-") if directory is None else directory)
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server-key.pem", names, temporary=temporary)
    if not temporary and _still_fits(files):
        return TlsFiles(files.ca, files.cert, files.key, names, reused=True)
    try:
        import trustme
    except ImportError:
        files.discard()
        raise ConfigError("tls: needs trustme to make its certificates; pip install 'mock-amojo[tls]'") from None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA(organization_name="mock-amojo test CA")
        issued = ca.issue_cert(*names)
        ca.cert_pem.write_to_path(str(files.ca))
        issued.cert_chain_pems[0].write_to_path(str(files.cert))
        # The key is for this machine's eyes only.
        files.key.touch(mode=0o600)
        files.key.chmod(0o600)
        issued.private_key_pem.write_to_path(str(files.key))
    except OSError as err:
        files.discard()
        raise ConfigError(f"tls_dir: cannot write the certificates to {str(folder)!r}: {err.strerror or err}") from None
    return files


def _nameable(name: str) -> bool:
    """Whether a bind address can be named in a certificate (not a wildcard such as 0.0.0.0)."""
    try:
        return not ipaddress.ip_address(name).is_unspecified
    except ValueError:
        return bool(name.strip())


def _still_fits(files: TlsFiles) -> bool:
    """Whether the kept files are a CA, a certificate it issued for every name, valid well past now, and that certificate's key."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization

    try:
        ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
        cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
        key = serialization.load_pem_private_key(files.key.read_bytes(), password=None)
        cert.verify_directly_issued_by(ca)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        return False
    now = datetime.now(UTC)
    for certificate in (ca, cert):
        if not certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc - _MARGIN:
            return False
    public = serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*public) != cert.public_key().public_bytes(*public):
        return False
    covered = {name.lower() for name in san.get_values_for_type(x509.DNSName)}
    covered |= {str(address) for address in san.get_values_for_type(x509.IPAddress)}
    return all(_canonical(name) in covered for name in files.names)


def _canonical(name: str) -> str:
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name.lower()


def tls_banner(files: TlsFiles, port: int) -> list[str]:
    """The banner's lines for HTTPS: where the CA is, how clients trust it, how a hard-coded amojo host reaches this server."""
    ca = str(files.ca)
    kept = "kept: reused at the next start" if not files.temporary else "temporary: --tls-dir DIR keeps it across restarts"
    host = AMOJO_HOSTS[0]
    return [
        f"  TLS             certificate for {', '.join(files.names)}",
        f"  CA              {ca}  ({'reused, ' if files.reused else ''}{kept})",
        f"  trust the CA    export SSL_CERT_FILE={ca} REQUESTS_CA_BUNDLE={ca} NODE_EXTRA_CA_CERTS={ca}",
        f"  hard-coded host /etc/hosts line: 127.0.0.1 {' '.join(AMOJO_HOSTS)}  (such a client calls port 443: --port 443)",
        f"                  or: curl --cacert {ca} --resolve {host}:{port}:127.0.0.1 https://{host}:{port}/__mock__/health",
    ]
