"""``ocpi-gateway``: serve the gateway and manage partners. Every option can also come from an ``OCPI_*`` variable.

Commands that act on the store (``partners ...``, ``outbox ...``) take the same ``--store`` as ``serve`` and
work while the server runs (SQLite in WAL mode, or Redis, are shared safely).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import TYPE_CHECKING, Any

import msgspec

from gateway import __version__
from gateway.settings import DEFAULT_STORE, Settings, SettingsError, parse_roles

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Sequence

__all__ = ("build_parser", "main")


def _env_default(env: str, default: Any = None) -> Any:
    value = os.environ.get(env)
    return default if value in (None, "") else value


def _option(
    parser: argparse.ArgumentParser, flag: str, env: str, help_text: str, *, repeat: bool = False, **kwargs: Any
) -> None:
    """Add ``flag`` whose default comes from the environment variable ``env`` (comma-separated when repeated)."""
    raw = _env_default(env)
    if repeat:
        default = [part.strip() for part in raw.split(",") if part.strip()] if raw else []
        dest = kwargs.pop("dest", flag.lstrip("-").replace("-", "_"))
        parser.add_argument(
            flag, action="append", dest=dest, default=None, help=f"{help_text} (repeatable; env {env})", **kwargs
        )
        parser.set_defaults(**{f"{dest}_env": default})
        return
    if kwargs.get("action") == "store_true":
        kwargs["default"] = raw is not None and raw.lower() not in ("0", "false", "no")
    elif raw is not None:
        kwargs["default"] = kwargs.get("type", str)(raw)
    parser.add_argument(flag, help=f"{help_text} (env {env})", **kwargs)


def _repeated(args: argparse.Namespace, name: str) -> list[str]:
    given = getattr(args, name)
    return given if given is not None else getattr(args, f"{name}_env")


def _identity_options(parser: argparse.ArgumentParser) -> None:
    _option(parser, "--country-code", "OCPI_COUNTRY_CODE", "our country code", repeat=True, dest="own_country_code")
    _option(parser, "--party-id", "OCPI_PARTY_ID", "our party id", repeat=True, dest="own_party_id")
    _option(parser, "--role", "OCPI_ROLE", "our role: CPO, EMSP, HUB, ...", repeat=True, dest="own_role")
    _option(parser, "--business-name", "OCPI_BUSINESS_NAME", "our business name shown to partners")
    _option(parser, "--public-url", "OCPI_PUBLIC_URL", "base URL partners reach us at")


def _store_option(parser: argparse.ArgumentParser) -> None:
    _option(parser, "--store", "OCPI_STORE", f"sqlite:///PATH or redis://HOST:PORT/DB (default {DEFAULT_STORE})")


def build_parser() -> argparse.ArgumentParser:
    """The whole command line."""
    parser = argparse.ArgumentParser(prog="ocpi-gateway", description="A fast, spec-exact OCPI 2.2.1 gateway.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the gateway under Granian")
    _option(serve, "--host", "OCPI_HOST", "interface to bind")
    _option(serve, "--port", "OCPI_PORT", "port to bind", type=int)
    _option(serve, "--workers", "OCPI_WORKERS", "worker processes", type=int)
    _store_option(serve)
    _identity_options(serve)
    _option(serve, "--api-key", "OCPI_API_KEY", "key of the back-office API (/api/..., Authorization: Bearer KEY)")
    _option(serve, "--log-level", "OCPI_LOG_LEVEL", "DEBUG, INFO, WARNING or ERROR")
    _option(serve, "--access-log", "OCPI_ACCESS_LOG", "log one structured line per request", action="store_true")

    partners = commands.add_parser("partners", help="manage partner platforms").add_subparsers(
        dest="partners_command", required=True, metavar="ACTION"
    )
    add = partners.add_parser("add", help="add a partner; prints its registration token A unless --token is given")
    _option(add, "--country-code", "OCPI_PARTNER_COUNTRY_CODE", "the partner's country code")
    _option(add, "--party-id", "OCPI_PARTNER_PARTY_ID", "the partner's party id")
    _option(add, "--role", "OCPI_PARTNER_ROLE", "the partner's role: CPO, EMSP, HUB, ...")
    _option(add, "--versions-url", "OCPI_PARTNER_VERSIONS_URL", "the partner's versions URL")
    _option(add, "--token", "OCPI_PARTNER_TOKEN", "existing credentials: the token the partner uses with us")
    _option(add, "--token-out", "OCPI_PARTNER_TOKEN_OUT", "existing credentials: the token we use with the partner")
    _option(add, "--plain-auth", "OCPI_PARTNER_PLAIN_AUTH", "send our token without Base64", action="store_true")
    _store_option(add)

    register = partners.add_parser("register", help="start the credentials handshake with a partner")
    _option(register, "--versions-url", "OCPI_PARTNER_VERSIONS_URL", "the partner's versions URL")
    _option(register, "--token-a", "OCPI_PARTNER_TOKEN_A", "the registration token the partner gave us")
    _option(register, "--plain-auth", "OCPI_PARTNER_PLAIN_AUTH", "send tokens without Base64", action="store_true")
    _store_option(register)
    _identity_options(register)

    listing = partners.add_parser("list", help="list partners (tokens are never shown)")
    _option(listing, "--json", "OCPI_JSON", "print JSON instead of a table", action="store_true")
    _store_option(listing)

    remove = partners.add_parser("remove", help="remove a partner; its token stops working")
    remove.add_argument("id", help="the partner id, as `partners list` shows it")
    _store_option(remove)

    rotate = partners.add_parser("rotate", help="update the registration (PUT credentials): new tokens both ways")
    rotate.add_argument("id", help="the partner id")
    _store_option(rotate)
    _identity_options(rotate)

    unregister = partners.add_parser("unregister", help="end the registration on both sides (DELETE credentials)")
    unregister.add_argument("id", help="the partner id")
    _store_option(unregister)

    tokens = commands.add_parser("tokens", help="bulk token import and sync").add_subparsers(
        dest="tokens_command", required=True, metavar="ACTION"
    )
    tokens_import = tokens.add_parser(
        "import", help="import a JSON array or NDJSON file of Tokens (resumable, idempotent)"
    )
    tokens_import.add_argument("file", help="the Tokens file (JSON array or one Token per line)")
    _option(tokens_import, "--partner", "OCPI_TOKENS_PARTNER", "the eMSP partner whose namespace gets the tokens")
    _option(tokens_import, "--own", "OCPI_TOKENS_OWN", "import our own tokens (we play eMSP)", action="store_true")
    _store_option(tokens_import)
    _identity_options(tokens_import)
    tokens_sync = tokens.add_parser("sync", help="pull an eMSP's tokens, following Link headers")
    _option(tokens_sync, "--partner", "OCPI_TOKENS_PARTNER", "the eMSP partner to pull from")
    _option(tokens_sync, "--since", "OCPI_TOKENS_SINCE",
            "only tokens changed since this UTC DateTime (default: since the last sync; 'all' for everything)")
    _store_option(tokens_sync)

    price = commands.add_parser("price", help="price a CDR against a tariff (or JSON Lines cases with --batch)")
    _option(price, "--tariff", "OCPI_PRICE_TARIFF", "Tariff JSON file (default: the tariff embedded in the CDR)")
    _option(price, "--cdr", "OCPI_PRICE_CDR", "CDR JSON file")
    _option(price, "--tz", "OCPI_PRICE_TZ", "IANA time zone of the location, e.g. Europe/Amsterdam")
    _option(price, "--batch", "OCPI_PRICE_BATCH", 'read {"id", "tariff", "cdr", "tz"} lines from stdin',
            action="store_true")

    _outbox_parsers(commands)
    commands.add_parser("version", help="print the gateway's version")
    return parser


def _outbox_parsers(commands: Any) -> None:
    outbox = commands.add_parser("outbox", help="see and operate the push outbox").add_subparsers(
        dest="outbox_command", required=True, metavar="ACTION"
    )
    status = outbox.add_parser("status", help="messages pending, in flight and dead, per partner")
    _option(status, "--json", "OCPI_JSON", "print JSON instead of a table", action="store_true")
    status.add_argument("--dead", action="store_true", help="also list the dead letters")
    status.add_argument("--partner", help="only this partner")
    status.add_argument("--limit", type=int, default=100, help="dead letters listed at most (default 100)")
    _store_option(status)
    for name, text in (("retry", "send dead (or waiting) messages again now"), ("drop", "delete messages for good")):
        action = outbox.add_parser(name, help=text)
        action.add_argument("ids", nargs="*", metavar="MESSAGE_ID", help="the messages, as `status --dead` shows them")
        action.add_argument("--all-dead", action="store_true", help="every dead message (of --partner)")
        action.add_argument("--partner", help="only messages of this partner")
        _store_option(action)
    policy = outbox.add_parser("policy", help="show or set a partner's delivery policy")
    policy.add_argument("partner", metavar="PARTNER_ID")
    policy.add_argument(
        "policy", nargs="?", choices=("send_once", "until_accepted", "default"),
        help="send_once (spec advice), until_accepted (store and forward) or default (the module's own)",
    )
    _store_option(policy)


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    changes: dict[str, Any] = {
        name: getattr(args, name, None)
        for name in ("host", "port", "workers", "store", "public_url", "api_key", "log_level")
    }
    if getattr(args, "access_log", False):
        changes["access_log"] = True
    if hasattr(args, "own_role"):
        codes, parties, roles = (_repeated(args, n) for n in ("own_country_code", "own_party_id", "own_role"))
        if codes or parties or roles or args.business_name:
            changes["roles"] = parse_roles(codes, parties, roles, args.business_name)
    return settings.with_changes(**changes)


def _serve(args: argparse.Namespace) -> int:
    from granian import Granian
    from granian.constants import Interfaces

    settings = _settings(args)
    # Workers are separate processes: they read the resolved settings from the environment.
    os.environ.update(_settings_env(settings))
    print(f"ocpi-gateway {__version__} serving on http://{settings.host}:{settings.port} "
          f"(store {settings.store.split(':', 1)[0]}, {settings.workers} worker(s))", file=sys.stderr)
    Granian(
        "gateway.app:create_app_from_env",
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=settings.workers,
        factory=True,
        log_access=False,
    ).serve()
    return 0


def _settings_env(settings: Settings) -> dict[str, str]:
    env = {
        f"OCPI_{name.upper()}": str(getattr(settings, name))
        for name in ("host", "port", "workers", "store", "max_page_limit", "partner_timeout",
                     "log_level", "validation_http_status")
    }
    env["OCPI_ACCESS_LOG"] = "1" if settings.access_log else "0"
    if settings.api_key:
        env["OCPI_API_KEY"] = settings.api_key
    if settings.public_url:
        env["OCPI_PUBLIC_URL"] = settings.public_url
    env["OCPI_COUNTRY_CODE"] = ",".join(r.country_code for r in settings.roles)
    env["OCPI_PARTY_ID"] = ",".join(r.party_id for r in settings.roles)
    env["OCPI_ROLE"] = ",".join(r.role for r in settings.roles)
    env["OCPI_BUSINESS_NAME"] = settings.roles[0].business_name
    return env


def _with_store(settings: Settings, work: Callable[[Any], Coroutine[Any, Any, int]]) -> int:
    from gateway.store import create_store

    async def run() -> int:
        store = create_store(settings.store)
        await store.open()
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


def _partners_add(args: argparse.Namespace) -> int:
    from gateway.modules.credentials.partners import PartnerCreate, create_partner

    missing = [flag for flag, value in (("--country-code", args.country_code), ("--party-id", args.party_id),
                                        ("--role", args.role)) if not value]
    if missing:
        raise SettingsError(f"partners add needs {', '.join(missing)}")
    try:
        data = msgspec.convert(
            {"country_code": args.country_code, "party_id": args.party_id, "role": str(args.role).upper(),
             "versions_url": args.versions_url, "token": args.token, "token_out": args.token_out,
             "plain_auth": args.plain_auth},
            PartnerCreate,
        )
    except msgspec.ValidationError as exc:
        raise SettingsError(f"invalid partner: {exc}") from exc

    async def work(store: Any) -> int:
        partner, token_a = await create_partner(store, data)
        print(f"added partner {partner.id} {partner.name}", file=sys.stderr)
        if token_a:
            print(token_a)
        return 0

    return _with_store(_settings(args), work)


def _partners_register(args: argparse.Namespace) -> int:
    from gateway.modules.credentials.service import RegistrationError, register_with
    from gateway.push.client import PartnerClient

    if not args.versions_url or not args.token_a:
        raise SettingsError("partners register needs --versions-url and --token-a")
    settings = _settings(args)

    async def work(store: Any) -> int:
        client = PartnerClient(timeout=settings.partner_timeout)
        try:
            partner = await register_with(settings, store, client, args.versions_url, args.token_a,
                                          plain=args.plain_auth)
        except RegistrationError as exc:
            print(f"registration failed (OCPI {int(exc.status)}): {exc.message}", file=sys.stderr)
            return 1
        finally:
            await client.aclose()
        print(f"registered with partner {partner.id} {partner.name}, OCPI {partner.version}", file=sys.stderr)
        print(partner.id)
        return 0

    return _with_store(settings, work)


def _partners_change(args: argparse.Namespace) -> int:
    from gateway.modules.credentials.service import RegistrationError, rotate_with, unregister_with
    from gateway.push.client import PartnerClient

    settings = _settings(args)

    async def work(store: Any) -> int:
        partner = await store.get_partner(args.id)
        if partner is None:
            print(f"no partner {args.id}", file=sys.stderr)
            return 1
        client = PartnerClient(timeout=settings.partner_timeout)
        try:
            if args.partners_command == "rotate":
                changed = await rotate_with(settings, store, client, partner)
            else:
                changed = await unregister_with(store, client, partner)
        except RegistrationError as exc:
            print(f"{args.partners_command} failed (OCPI {int(exc.status)}): {exc.message}", file=sys.stderr)
            return 1
        finally:
            await client.aclose()
        print(f"partner {changed.id} {changed.name}: {changed.state}", file=sys.stderr)
        return 0

    return _with_store(settings, work)


def _progress(label: str) -> Callable[[Any], None]:
    interactive = sys.stderr.isatty()

    def show(summary: Any) -> None:
        line = (f"{label}: {summary.read:,} read, {summary.added:,} added, {summary.replaced:,} replaced, "
                f"{summary.rejected:,} rejected")
        print(f"\r{line}" if interactive else line, end="" if interactive else "\n", file=sys.stderr, flush=True)

    return show


def _print_summary(summary: Any) -> None:
    if sys.stderr.isatty():
        print(file=sys.stderr)
    for error in summary.errors:
        print(f"rejected {error}", file=sys.stderr)
    print(msgspec.json.encode(summary).decode())


def _tokens_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gateway.modules.tokens.ingest import import_file, target_kind_and_owners
    from gateway.modules.tokens.models import ci_key
    from gateway.modules.tokens.service import TokenService
    from gateway.push.client import PartnerClient
    from gateway.push.outbox import Outbox

    if bool(args.partner) == bool(args.own):
        raise SettingsError("tokens import needs exactly one of --partner ID or --own")
    path = Path(args.file)
    if not path.is_file():
        raise SettingsError(f"no such file: {path}")
    settings = _settings(args)

    async def work(store: Any) -> int:
        partner = await store.get_partner(args.partner) if args.partner else None
        if args.partner and partner is None:
            print(f"no partner {args.partner}", file=sys.stderr)
            return 1
        own = {(ci_key(r.country_code), ci_key(r.party_id)) for r in settings.roles if r.role == "EMSP"}
        kind, owners = target_kind_and_owners(partner, own)
        service = TokenService(store, None)
        if partner is not None:
            summary = await import_file(service, path, kind, owners, progress=_progress("import"))
        else:  # our own tokens: each stored batch is enqueued for every CPO partner (a server delivers them)
            client = PartnerClient()
            try:
                outbox = Outbox(store, client, own_roles=settings.roles)
                summary = await import_file(service, path, kind, owners, progress=_progress("import"),
                                            outbox=outbox)
            finally:
                await client.aclose()
        _print_summary(summary)
        return 0 if summary.rejected == 0 else 1

    return _with_store(settings, work)


def _tokens_sync(args: argparse.Namespace) -> int:
    from datetime import datetime

    from gateway.modules.tokens.ingest import sync_partner
    from gateway.modules.tokens.service import TokenService
    from gateway.ocpi.types import utc
    from gateway.push.client import PartnerCallError, PartnerClient
    from gateway.store.base import ObjectKey, StoredObject

    if not args.partner:
        raise SettingsError("tokens sync needs --partner ID")
    settings = _settings(args)

    async def work(store: Any) -> int:
        partner = await store.get_partner(args.partner)
        if partner is None or partner.state != "REGISTERED":
            print(f"no registered partner {args.partner}", file=sys.stderr)
            return 1
        marker = ObjectKey("--", "---", f"tokens-sync:{partner.id}")
        since = None
        if args.since and args.since != "all":
            since = utc(msgspec.json.decode(msgspec.json.encode(args.since), type=datetime))
        elif args.since is None:
            last = await store.get_object("sync_state", marker)
            since = last.last_updated if last is not None else None
        client = PartnerClient(timeout=settings.partner_timeout)
        try:
            summary, started = await sync_partner(TokenService(store, None), client, partner, since=since,
                                                  progress=_progress("sync"))
        except PartnerCallError as exc:
            print(f"sync failed: {exc}", file=sys.stderr)
            return 1
        finally:
            await client.aclose()
        await store.put_object("sync_state", StoredObject(key=marker, last_updated=started, data=b"{}"))
        _print_summary(summary)
        return 0

    return _with_store(settings, work)


def _partners_list(args: argparse.Namespace) -> int:
    from gateway.modules.credentials.partners import partner_view

    async def work(store: Any) -> int:
        views = [partner_view(p) for p in await store.list_partners()]
        if args.json:
            print(msgspec.json.encode(views).decode())
            return 0
        print(f"{'ID':<13}{'STATE':<13}{'VERSION':<9}{'ROLES':<40}VERSIONS URL")
        for view in views:
            roles = ", ".join(f"{r.country_code}-{r.party_id} {r.role}" for r in view.roles)
            print(f"{view.id:<13}{view.state:<13}{view.version or '-':<9}{roles:<40}{view.versions_url or '-'}")
        return 0

    return _with_store(_settings(args), work)


def _partners_remove(args: argparse.Namespace) -> int:
    async def work(store: Any) -> int:
        if not await store.remove_partner(args.id):
            print(f"no partner {args.id}", file=sys.stderr)
            return 1
        print(f"removed partner {args.id}", file=sys.stderr)
        return 0

    return _with_store(_settings(args), work)


def _outbox_status(args: argparse.Namespace) -> int:
    from gateway.api.outbox import outbox_status

    async def work(store: Any) -> int:
        status = await outbox_status(store, dead=args.dead, partner_id=args.partner, limit=args.limit)
        if args.json:
            print(msgspec.json.encode(status).decode())
            return 0
        print(f"{'PARTNER':<14}{'PENDING':>9}{'IN FLIGHT':>11}{'DEAD':>8}")
        for count in [*status.partners, status.total]:
            name = "total" if count is status.total else count.partner_id
            print(f"{name:<14}{count.pending:>9}{count.in_flight:>11}{count.dead:>8}")
        for letter in status.dead_letters or ():
            print(f"dead {letter.id} {letter.partner_id} {letter.method} {letter.module}{letter.path} "
                  f"attempts={letter.attempts}: {letter.last_error or '-'}")
        return 0

    return _with_store(_settings(args), work)


def _outbox_change(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    if bool(args.ids) == bool(args.all_dead):
        raise SettingsError(f"outbox {args.outbox_command} needs MESSAGE_ID... or --all-dead (not both)")
    ids = args.ids or None

    async def work(store: Any) -> int:
        if args.outbox_command == "retry":
            changed = await store.outbox_retry(now=datetime.now(UTC), ids=ids, partner_id=args.partner)
        else:
            changed = await store.outbox_drop(ids=ids, partner_id=args.partner)
        verb = "retrying" if args.outbox_command == "retry" else "dropped"
        print(f"{verb} {changed} message(s)", file=sys.stderr)
        print(changed)
        return 0 if ids is None or changed == len(set(ids)) else 1

    return _with_store(_settings(args), work)


def _outbox_policy(args: argparse.Namespace) -> int:
    from gateway.push.outbox import get_policy, set_policy

    async def work(store: Any) -> int:
        if await store.get_partner(args.partner) is None:
            print(f"no partner {args.partner}", file=sys.stderr)
            return 1
        if args.policy is not None:
            await set_policy(store, args.partner, None if args.policy == "default" else args.policy)
        print(await get_policy(store, args.partner) or "default")
        return 0

    return _with_store(_settings(args), work)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``ocpi-gateway``; returns the exit status."""
    args = build_parser().parse_args(argv)
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "serve": _serve,
        "add": _partners_add,
        "register": _partners_register,
        "list": _partners_list,
        "remove": _partners_remove,
        "rotate": _partners_change,
        "unregister": _partners_change,
    }
    if args.command == "price":
        from gateway.pricing import run_price_cli

        return run_price_cli(args.tariff, args.cdr, args.tz, args.batch, sys.stdin, sys.stdout)
    if args.command == "version":
        from gateway.core import extension_version

        print(f"ocpi-gateway {__version__} (core {extension_version()}, OCPI 2.2.1)")
        return 0
    handlers["import"] = _tokens_import
    handlers["sync"] = _tokens_sync
    handlers.update({"outbox-status": _outbox_status, "outbox-retry": _outbox_change, "outbox-drop": _outbox_change,
                     "outbox-policy": _outbox_policy})
    key = {"partners": getattr(args, "partners_command", ""), "tokens": getattr(args, "tokens_command", ""),
           "outbox": f"outbox-{getattr(args, 'outbox_command', '')}"}.get(args.command, args.command)
    try:
        return handlers[key](args)
    except (SettingsError, ValueError) as exc:
        print(f"ocpi-gateway: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
