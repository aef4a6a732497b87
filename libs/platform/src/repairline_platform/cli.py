"""Command line shared by every service: serve, migrate, replay."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Iterator

import uvicorn
import uvloop

from repairline_platform.logging import configure_logging
from repairline_platform.runtime import Runtime, ServiceSpec, build_app
from repairline_platform.settings import ServiceSettings
from repairline_platform.tokens import AuthNotConfigured


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM after its graceful shutdown; a clean stop exits 0 here."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in _STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def run_cli(spec: ServiceSpec, argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"repairline-{spec.name}", description=spec.description)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the service (default)")
    sub.add_parser("migrate", help="create the database and apply migrations, then exit")
    rp = sub.add_parser("replay", help="drop the projections and rebuild them from Kafka offset 0")
    rp.add_argument("--force", action="store_true", help="skip the live-consumer check")
    args = parser.parse_args(argv)
    settings = ServiceSettings()
    from repairline_rules import PackError, load_deployment

    try:  # a bad pack or mapping stops the start, whole, with its reasons
        load_deployment(
            settings.policy_pack,
            settings.policy_packs,
            settings.pack_routing,
            known_regions=settings.known_regions,
        )
    except PackError as exc:
        print(f"{spec.name}: policy pack rejected:\n{exc}", file=sys.stderr)
        return 2

    if args.command in (None, "serve"):
        try:
            app = build_app(spec, settings)
        except AuthNotConfigured as exc:
            print(f"{spec.name}: {exc}", file=sys.stderr)
            return 2
        server = _Server(
            uvicorn.Config(
                app,
                host=settings.http_host,
                port=settings.http_port or spec.default_port,
                log_level="warning",
                log_config=None,  # uvicorn's loggers go to the service's JSON handler
                # libuv's event loop and the C HTTP parser: a request, a query and a
                # Kafka fetch cost far less CPU than on asyncio's loop and h11
                loop="uvloop",
                http="httptools",
                timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
            )
        )
        server.run()
        return 0 if server.started else 1

    configure_logging(spec.name, fmt=settings.log_format, level=settings.log_level)

    async def storage_only() -> Runtime:
        rt = Runtime(spec, settings)
        await rt.open_storage()
        return rt

    if args.command == "migrate":

        async def _migrate() -> None:
            rt = await storage_only()
            await rt.pool.close()

        uvloop.run(_migrate())
        print(f"{spec.name}: database ready")
        return 0

    if args.command == "replay":
        from repairline_platform.replay import ReplayRefused, replay_all

        async def _replay() -> int:
            rt = await storage_only()
            try:
                for stats in await replay_all(rt, force=args.force):
                    print(
                        f"{stats.projection}: {stats.events} events replayed,"
                        f" {stats.applied} applied in {stats.seconds:.2f}s"
                        f" ({stats.per_second:.0f}/s)"
                    )
            except ReplayRefused as exc:
                print(f"replay refused: {exc}", file=sys.stderr)
                return 2
            finally:
                await rt.pool.close()
            return 0

        return uvloop.run(_replay())
    return 1
