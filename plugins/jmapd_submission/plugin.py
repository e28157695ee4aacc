"""Hook implementations of the submission plugin, and nothing else."""

from __future__ import annotations

from typing import Any

from jmapd import hookimpl
from jmapd.methods.registry import Capability
from jmapd.services import ExtensionKey

from . import migrations
from .capability import MAIL, SUBMISSION, account_value
from .checks import check_relay
from .cli import register as register_commands
from .config import SubmissionConfig
from .metrics import queue_families
from .models import QueueItem
from .queue import QueueWorker, relay_config, wake
from .types.identity import Identity, create_default_identity
from .types.submission import EmailSubmission

WORKER_KEY: ExtensionKey[QueueWorker] = ExtensionKey("submission.worker")


@hookimpl
def jmapd_config_schema() -> tuple[str, type]:
    return ("submission", SubmissionConfig)


@hookimpl
def jmapd_capabilities(config: Any) -> list[Capability]:
    section = config.section("submission")
    if section.smarthost.host:
        relay_config(section)  # a bad relay setting stops start-up, naming its key
    # Submission sends Emails of the mail plugin: without it, start-up stops
    # (Registry.check: "... requires urn:ietf:params:jmap:mail, which is not enabled").
    return [
        Capability(
            SUBMISSION,
            session={},
            account=lambda account_id, services: account_value(services.config),
            requires=(MAIL,),
        )
    ]


@hookimpl
def jmapd_config_check(config: Any, connect: bool) -> list[tuple[str, str]]:
    return check_relay(config, connect)


@hookimpl
def jmapd_commands(subparsers: Any) -> None:
    register_commands(subparsers)


@hookimpl
def jmapd_data_types(config: Any) -> list[Any]:
    return [Identity(config), EmailSubmission(config)]


@hookimpl
def jmapd_models() -> list[Any]:
    return [QueueItem]


@hookimpl
def jmapd_migrations() -> tuple[str, Any]:
    return ("submission", migrations)


@hookimpl
def jmapd_account_created(services: Any, account_id: str, user_name: str) -> None:
    create_default_identity(services.config, account_id, user_name)


@hookimpl
def jmapd_startup(services: Any) -> Any:
    section = services.config.section("submission")
    # Without a relay the worker still delivers local recipients.
    if not section.worker or not (section.smarthost.host or services.pm.has_plugin("delivery")):
        return None
    worker = QueueWorker(services)
    services.extensions[WORKER_KEY] = worker
    return worker.run()


@hookimpl
def jmapd_shutdown(services: Any) -> None:
    worker = services.extensions.pop(WORKER_KEY)
    if worker is not None:
        worker.stop()


@hookimpl
def jmapd_metrics() -> list[Any]:
    return queue_families()


@hookimpl
def jmapd_changes_committed(services: Any, account_id: str, changed: dict[str, str]) -> None:
    if "EmailSubmission" in changed:
        wake(services)
