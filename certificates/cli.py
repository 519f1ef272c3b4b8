"""`lrs keys`, `lrs audit` and `lrs certificates`: the plugin's commands."""

from __future__ import annotations

import getpass
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer

from certificates import follow, ops
from courses.aggregate import CatalogCache
from courses.config import CoursesSettings, SettingInvalid
from courses.ops import CoursesContext
from lrs.cli import run_command
from lrs.ops.context import LrsContext

T = TypeVar("T")

keys_app = typer.Typer(help="The LRS's keys for signing certificates.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log (a hash chain).", no_args_is_help=True)
certificates_app = typer.Typer(help="Certificates: decide, approve, revoke.", no_args_is_help=True)


def actor() -> str:
    """Who runs the command, as the audit log names them."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def _run(work: Callable[[ops.CertContext], Awaitable[T]]) -> T:
    async def with_context(lrs: LrsContext) -> T:
        courses = CoursesContext(lrs, CoursesSettings.from_env().normalised(), CatalogCache())
        return await work(ops.CertContext(lrs, courses))

    return run_command(with_context, expected=(SettingInvalid,))


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Sign new certificates with a new key; old public keys stay in the JWKS."""
    kid = _run(lambda cx: ops.rotate_keys(cx, actor()))
    typer.echo(f"new signing key: {kid} (older keys still verify the certificates they signed)")


@keys_app.command("list")
def keys_list() -> None:
    """The published public keys, newest last."""
    for jwk in _run(ops.find_public_keys):
        typer.echo(f"{jwk['kid']}\t{jwk['alg']}\t{jwk['crv']}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the whole hash chain; name the first altered or missing entry."""
    checked, problem = _run(ops.verify_audit)
    if problem is not None:
        typer.echo(f"audit log broken: {problem} ({checked} entries read)", err=True)
        raise typer.Exit(1)
    typer.echo(f"audit log intact: {checked} entries")


@certificates_app.command("decide")
def certificates_decide() -> None:
    """Issue, or flag for review, what the stored progress calls for (the server does it too)."""
    made = _run(follow.catch_up)
    typer.echo(f"{made} certificate decisions")


@certificates_app.command("approve")
def certificates_approve(certificate_id: str) -> None:
    """Sign off a certificate waiting for approval (or keep one under review)."""
    done = _run(lambda cx: ops.approve_certificate(cx, certificate_id, actor()))
    typer.echo(f"certificate {done.id}: {done.status}")


@certificates_app.command("revoke")
def certificates_revoke(
    certificate_id: str, reason: str = typer.Option(..., help="Why it is revoked")
) -> None:
    """Revoke a certificate, with a reason."""
    done = _run(lambda cx: ops.revoke_certificate(cx, certificate_id, actor(), reason))
    typer.echo(f"certificate {done.id}: {done.status} ({done.reason})")


def commands() -> dict[str, typer.Typer]:
    return {"keys": keys_app, "audit": audit_app, "certificates": certificates_app}
